package rotation

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// fakeStore is one secret in memory, with failure switches. It follows
// Secrets Manager's label rules only as far as these tests need.
type fakeStore struct {
	mu       sync.Mutex
	sec      secretstore.Secret
	values   map[string]string // version id → value ("" = none)
	failOp   map[string]error  // operation → error returned by every call
	putLands bool              // with failOp["Put"]: the write happens anyway
	// getAfterPut, once a Put was attempted, fails every Get: the store
	// cannot say whether the write landed.
	getAfterPut  error
	putAttempted bool
}

var _ secretStore = (*fakeStore)(nil)

func newFakeStore(name string) *fakeStore {
	return &fakeStore{
		sec:    secretstore.Secret{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf", Name: name, RotationEnabled: true, Tags: map[string]string{}, Versions: map[string][]string{}},
		values: map[string]string{},
		failOp: map[string]error{},
	}
}

func (f *fakeStore) fail(op string) error { return f.failOp[op] }

func (f *fakeStore) Describe(context.Context, string) (secretstore.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("Describe"); err != nil {
		return secretstore.Secret{}, err
	}
	sec := f.sec
	sec.Tags = maps.Clone(f.sec.Tags)
	sec.Versions = map[string][]string{}
	for id, st := range f.sec.Versions {
		if len(st) > 0 {
			sec.Versions[id] = slices.Clone(st)
		}
	}
	return sec, nil
}

// WithTag finds no other connection: the fake holds one secret.
func (f *fakeStore) WithTag(context.Context, string, string, string) ([]secretstore.Secret, error) {
	return nil, f.fail("WithTag")
}

func (f *fakeStore) Get(_ context.Context, _, versionID, stage string) (secretstore.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("Get"); err != nil {
		return secretstore.Version{}, err
	}
	if f.putAttempted && f.getAfterPut != nil {
		return secretstore.Version{}, f.getAfterPut
	}
	if versionID == "" {
		versionID, _ = f.sec.VersionWith(stage)
	}
	v, ok := f.values[versionID]
	if !ok || v == "" || (stage != "" && !slices.Contains(f.sec.Versions[versionID], stage)) {
		return secretstore.Version{}, secretstore.ErrNotFound
	}
	return secretstore.Version{ID: versionID, Stages: f.sec.Versions[versionID], Value: v}, nil
}

func (f *fakeStore) Put(_ context.Context, _, token, value string, stages []string, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putAttempted = true
	err := f.fail("Put")
	if err == nil || f.putLands {
		f.values[token] = value
		for _, st := range stages {
			f.attach(st, token)
		}
	}
	return token, err
}

func (f *fakeStore) MoveStage(_ context.Context, _, stage, moveTo, removeFrom string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("MoveStage"); err != nil {
		return err
	}
	if removeFrom != "" {
		f.detach(stage, removeFrom)
	}
	if moveTo != "" {
		if stage == secretstore.Current && removeFrom != "" {
			if prev, ok := f.sec.VersionWith(secretstore.Previous); ok {
				f.detach(secretstore.Previous, prev)
			}
			f.sec.Versions[removeFrom] = append(f.sec.Versions[removeFrom], secretstore.Previous)
		}
		f.attach(stage, moveTo)
	}
	return nil
}

func (f *fakeStore) attach(stage, id string) {
	for other := range f.sec.Versions {
		f.detach(stage, other)
	}
	f.sec.Versions[id] = append(f.sec.Versions[id], stage)
}

func (f *fakeStore) detach(stage, id string) {
	f.sec.Versions[id] = slices.DeleteFunc(f.sec.Versions[id], func(s string) bool { return s == stage })
}

func (f *fakeStore) Tag(_ context.Context, _ string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("Tag"); err != nil {
		return err
	}
	maps.Copy(f.sec.Tags, tags)
	return nil
}

func (f *fakeStore) Untag(_ context.Context, _ string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("Untag"); err != nil {
		return err
	}
	for _, k := range keys {
		delete(f.sec.Tags, k)
	}
	return nil
}

func (f *fakeStore) tags() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.sec.Tags)
}

// fakeDatadog holds one owner's keys, with failure switches.
type fakeDatadog struct {
	mu     sync.Mutex
	keys   map[string]datadog.AppKey // by id; Key holds the secret
	seq    int
	failOp map[string]error
}

var _ datadogAPI = (*fakeDatadog)(nil)

func newFakeDatadog() *fakeDatadog {
	return &fakeDatadog{keys: map[string]datadog.AppKey{}, failOp: map[string]error{}}
}

func (d *fakeDatadog) add(scopes []string) datadog.AppKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addLocked("user key", scopes)
}

func (d *fakeDatadog) addLocked(name string, scopes []string) datadog.AppKey {
	d.seq++
	// 40 hex digits, as Datadog's keys, that share no run of characters
	// with each other or with the ids and tokens in the output, so the
	// leak check finds only real copies.
	k := datadog.AppKey{ID: fmt.Sprintf("id-%d", d.seq), Name: name, OwnerID: "owner", Scopes: scopes,
		Key: fmt.Sprintf("%x", sha1.Sum(fmt.Appendf(nil, "fake key %d", d.seq)))}
	d.keys[k.ID] = k
	return k
}

func (d *fakeDatadog) authenticated(cr datadog.Credentials) error {
	for _, k := range d.keys {
		if k.Key == cr.AppKey {
			return nil
		}
	}
	return datadog.ErrUnauthorized
}

func (d *fakeDatadog) ValidateKeys(_ context.Context, cr datadog.Credentials) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.failOp["ValidateKeys"]; err != nil {
		return err
	}
	return d.authenticated(cr)
}

func (d *fakeDatadog) ListAppKeys(_ context.Context, cr datadog.Credentials, _ datadog.KeyOwner) ([]datadog.AppKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := cmpErr(d.failOp["ListAppKeys"], d.authenticated(cr)); err != nil {
		return nil, err
	}
	var out []datadog.AppKey
	for _, id := range slices.Sorted(maps.Keys(d.keys)) {
		k := d.keys[id]
		k.Key = ""
		out = append(out, k)
	}
	return out, nil
}

func (d *fakeDatadog) CreateAppKey(_ context.Context, cr datadog.Credentials, _ datadog.KeyOwner, name string, scopes []string) (datadog.AppKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := cmpErr(d.failOp["CreateAppKey"], d.authenticated(cr)); err != nil {
		return datadog.AppKey{}, err
	}
	return d.addLocked(name, scopes), nil
}

func (d *fakeDatadog) DeleteAppKey(_ context.Context, cr datadog.Credentials, _ datadog.KeyOwner, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := cmpErr(d.failOp["DeleteAppKey"], d.authenticated(cr)); err != nil {
		return err
	}
	delete(d.keys, id)
	return nil
}

func (d *fakeDatadog) RenameAppKey(_ context.Context, cr datadog.Credentials, _ datadog.KeyOwner, id, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.authenticated(cr); err != nil {
		return err
	}
	if k, ok := d.keys[id]; ok {
		k.Name = name
		d.keys[id] = k
	}
	return nil
}

func (d *fakeDatadog) has(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.keys[id]
	return ok
}

func (d *fakeDatadog) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.keys)
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// errNoAPIKeys: the fake serves application keys only; API key rotations
// are tested against the simulator.
var errNoAPIKeys = errors.New("the fake has no API keys")

func (d *fakeDatadog) ValidateAPIKey(context.Context, datadog.Credentials) error { return errNoAPIKeys }

func (d *fakeDatadog) ListAPIKeys(context.Context, datadog.Credentials) ([]datadog.APIKey, error) {
	return nil, errNoAPIKeys
}

func (d *fakeDatadog) CreateAPIKey(context.Context, datadog.Credentials, string) (datadog.APIKey, error) {
	return datadog.APIKey{}, errNoAPIKeys
}

func (d *fakeDatadog) DeleteAPIKey(context.Context, datadog.Credentials, string) error {
	return errNoAPIKeys
}

func (d *fakeDatadog) RenameAPIKey(context.Context, datadog.Credentials, string, string) error {
	return errNoAPIKeys
}

// fakePublisher records the Rotation Failed events a Rotator publishes,
// and the detail types of the others.
type fakePublisher struct {
	mu     sync.Mutex
	events []Failed
	others []string
}

func (f *fakePublisher) Publish(_ context.Context, detailType string, detail any, _ ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch detailType {
	case FailedEvent:
		f.events = append(f.events, detail.(Failed))
	case RotatedEvent, RevokedEvent, StillInUseEvent:
		f.others = append(f.others, detailType)
	default:
		return "", fmt.Errorf("unexpected detail type %q", detailType)
	}
	return "event-id", nil
}
