package rotation

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

const (
	testPrefix = "ddconn/connections/"
	token      = "tok-00000000-0000-4000-8000-000000000001"
	apiKey     = "0123456789abcdef0123456789abcdef"
)

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a connection "prod" whose rotation to token has started:
// AWSCURRENT holds the user's key, AWSPENDING is RotateSecret's placeholder.
type fixture struct {
	store   *fakeStore
	dd      *fakeDatadog
	rot     *Rotator
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	pub     *fakePublisher
	orig    datadog.AppKey
	doc     secretkind.Document
}

func newFixture(t *testing.T, scopes []string) *fixture {
	t.Helper()
	f := &fixture{store: newFakeStore(testPrefix + "prod"), dd: newFakeDatadog(), logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}, pub: &fakePublisher{}}
	f.orig = f.dd.add(scopes)
	f.doc = secretkind.Document{URL: "https://api.datadoghq.com", APIKey: apiKey, Key: f.orig.Key,
		KeyID: f.orig.ID, OwnerID: "owner", Scopes: scopes}
	f.setVersion("v1", f.doc, secretstore.Current)
	f.store.values[token] = ""
	f.store.sec.Versions[token] = []string{secretstore.Pending}
	f.rot = New(f.store, f.dd, Options{
		Prefix: testPrefix, Now: func() time.Time { return fixedNow },
		Logger: logging.New(f.logs, slog.LevelDebug), Metrics: metrics.New(f.metrics, nil),
		Activation: Activation{Initial: time.Millisecond, Max: time.Millisecond, Timeout: 5 * time.Millisecond},
		Publisher:  f.pub,
	})
	t.Cleanup(func() {
		out, keys := f.outputAndKeys()
		testkit.AssertNoKeyMaterial(t, out, keys...)
	})
	return f
}

func (f *fixture) setVersion(id string, d secretkind.Document, stages ...string) {
	v, _ := secretkind.Connection.Marshal(d)
	f.store.values[id] = v
	f.store.sec.Versions[id] = stages
}

func (f *fixture) step(step string) error {
	return f.rot.Handle(context.Background(), Event{Step: step, SecretID: f.store.sec.ARN, ClientRequestToken: token, RotationToken: "rt"})
}

func (f *fixture) rotate(t *testing.T) {
	t.Helper()
	for _, s := range rotationstate.Steps {
		if err := f.step(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func (f *fixture) pending(t *testing.T) secretkind.Document {
	t.Helper()
	d, err := secretkind.Connection.Parse(f.store.values[token])
	if err != nil {
		t.Fatalf("no pending document: %v", err)
	}
	return d
}

// outputAndKeys returns everything the rotator wrote that must hold no key
// (the logs, the metrics, the events and the tags) and every key secret the
// fake Datadog ever issued.
func (f *fixture) outputAndKeys() (string, []string) {
	out := f.logs.String() + f.metrics.String()
	for _, ev := range f.pub.events {
		out += ev.Message
	}
	for _, v := range f.store.tags() {
		out += v
	}
	secrets := []string{apiKey, f.orig.Key}
	for _, v := range f.store.values {
		if d, err := secretkind.Connection.Parse(v); err == nil {
			secrets = append(secrets, d.Key)
		}
	}
	return out, secrets
}

func TestFullRotationWithFakes(t *testing.T) {
	scopes := []string{"metrics_read", "user_app_keys"}
	f := newFixture(t, scopes)
	f.rotate(t)

	next := f.pending(t)
	if !slices.Equal(f.store.sec.Versions[token], []string{secretstore.Current}) ||
		!slices.Equal(f.store.sec.Versions["v1"], []string{secretstore.Previous}) {
		t.Errorf("labels %v", f.store.sec.Versions)
	}
	if !f.dd.has(next.KeyID) || !f.dd.has(f.orig.ID) || f.dd.count() != 2 {
		t.Errorf("want the original and the new key, got %d keys", f.dd.count())
	}
	if next.Key == f.orig.Key || !slices.Equal(next.Scopes, scopes) || next.OwnerID != "owner" || next.APIKey != apiKey {
		t.Errorf("pending document %v", next)
	}
	if k := f.dd.keys[next.KeyID]; k.Name != keyName(f, token) || !slices.Equal(k.Scopes, scopes) {
		t.Errorf("new key %s %v", k.Name, k.Scopes)
	}
	tags := f.store.tags()
	want := map[string]string{
		secretkind.TagKeyID:                    next.KeyID,
		secretkind.TagPreviousKeyID:            f.orig.ID,
		secretkind.TagRetirePrefix + f.orig.ID: "next-rotation user:owner",
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, tags[k], v)
		}
	}
	if n := strings.Count(f.logs.String(), `"msg":"rotation step"`); n != 4 {
		t.Errorf("%d step records, want 4", n)
	}
	if n := strings.Count(f.metrics.String(), `"RotationStepSucceeded":1`); n != 4 {
		t.Errorf("%d success metrics, want 4", n)
	}
}

func TestEveryStepIsIdempotent(t *testing.T) {
	f := newFixture(t, []string{"user_app_keys"})
	for _, s := range []string{rotationstate.StepCreate, rotationstate.StepCreate, rotationstate.StepSet, rotationstate.StepSet, rotationstate.StepTest, rotationstate.StepTest, rotationstate.StepFinish, rotationstate.StepFinish, rotationstate.StepCreate} {
		if err := f.step(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if f.dd.count() != 2 {
		t.Errorf("%d keys, want 2: a repeated step made another key", f.dd.count())
	}
	if !strings.Contains(f.logs.String(), `"outcome":"already-created"`) || !strings.Contains(f.logs.String(), `"outcome":"already-current"`) {
		t.Error("the repeated steps did not report themselves as such")
	}
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
		step  string
		want  error // nil: the step succeeds as a no-op
	}{
		{"rotation disabled", func(f *fixture) { f.store.sec.RotationEnabled = false }, rotationstate.StepCreate, ErrRotationDisabled},
		{"unknown version", func(f *fixture) { delete(f.store.sec.Versions, token) }, rotationstate.StepSet, ErrUnknownVersion},
		{"version not pending", func(f *fixture) { f.store.sec.Versions[token] = []string{"CUSTOM"} }, rotationstate.StepTest, ErrNotPending},
		{"not a connection document", func(f *fixture) { f.store.values["v1"] = `{"not":"ours"}` }, rotationstate.StepCreate, ErrNotConnection},
		{"not a connection secret", func(f *fixture) { f.store.sec.Name = "other/prod" }, rotationstate.StepCreate, ErrForeignSecret},
		{"unknown step", func(*fixture) {}, "rollbackSecret", ErrUnknownStep},
		{"already current", func(f *fixture) {
			f.store.sec.Versions = map[string][]string{token: {secretstore.Current}, "v1": {secretstore.Previous}}
			f.store.values[token] = f.store.values["v1"]
		}, rotationstate.StepCreate, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			tt.setup(f)
			err := f.step(tt.step)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if f.dd.count() != 1 {
				t.Error("a key was created")
			}
			lastErr := f.store.tags()[secretkind.TagLastError]
			switch {
			case tt.want == ErrForeignSecret || tt.want == nil:
				if lastErr != "" || len(f.pub.events) != 0 {
					t.Errorf("last error %q written, %d Rotation Failed published", lastErr, len(f.pub.events))
				}
			case !strings.Contains(lastErr, tt.step):
				t.Errorf("last error tag %q does not name the step", lastErr)
			case len(f.pub.events) != 1 || f.pub.events[0].Step != tt.step || f.pub.events[0].RequestID != token ||
				f.pub.events[0].SecretARN != f.store.sec.ARN || f.pub.events[0].Message == "":
				t.Errorf("published %+v, want one Rotation Failed for the step", f.pub.events)
			}
		})
	}
}

func TestCreateSecretReplacesAnUnstoredKey(t *testing.T) {
	f := newFixture(t, nil)
	f.dd.mu.Lock()
	left := f.dd.addLocked(keyName(f, token), nil) // an earlier attempt's key, never stored
	f.dd.mu.Unlock()
	if err := f.step(rotationstate.StepCreate); err != nil {
		t.Fatal(err)
	}
	if f.dd.has(left.ID) || f.pending(t).KeyID == left.ID || f.dd.count() != 2 {
		t.Error("the earlier attempt's key was not replaced")
	}
}

func TestCreateSecretWhenStoringFails(t *testing.T) {
	tests := []struct {
		name        string
		lands       bool  // the write happened despite the error
		getAfterPut error // the store cannot say
		wantKeys    int   // original + new key if kept
	}{
		{"write refused: the new key is deleted", false, nil, 1},
		{"write landed: the new key is kept", true, nil, 2},
		{"unknown: the new key is left to the retry", false, secretstore.ErrUnavailable, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.store.failOp["Put"] = secretstore.ErrUnavailable
			f.store.putLands, f.store.getAfterPut = tt.lands, tt.getAfterPut
			if err := f.step(rotationstate.StepCreate); !errors.Is(err, secretstore.ErrUnavailable) {
				t.Fatalf("err = %v", err)
			}
			if f.dd.count() != tt.wantKeys {
				t.Errorf("%d keys, want %d", f.dd.count(), tt.wantKeys)
			}
		})
	}
}

func TestCreateSecretRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
		want  error
	}{
		{"unknown id and scopes", func(f *fixture) {
			d := f.doc
			d.KeyID, d.Scopes = "", nil
			f.setVersion("v1", d, secretstore.Current)
		}, ErrScopesUnknown},
		{"current key gone from the listing", func(f *fixture) {
			d := f.doc
			d.KeyID = "id-999"
			f.setVersion("v1", d, secretstore.Current)
		}, ErrCurrentKeyMissing},
		{"too many pending retirements", func(f *fixture) {
			for i := range rotationstate.MaxPendingRetirements {
				f.store.sec.Tags[secretkind.TagRetirePrefix+string(rune('a'+i))] = "next-rotation"
			}
		}, ErrTooManyRetirements},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{"user_app_keys"})
			tt.setup(f)
			if err := f.step(rotationstate.StepCreate); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if f.dd.count() != 1 {
				t.Error("a key was created")
			}
		})
	}
}

func TestUnknownIDWithRecordedScopes(t *testing.T) {
	f := newFixture(t, []string{"user_app_keys"})
	d := f.doc
	d.KeyID = ""
	f.setVersion("v1", d, secretstore.Current)
	f.rotate(t)
	if got := f.dd.keys[f.pending(t).KeyID].Scopes; !slices.Equal(got, []string{"user_app_keys"}) {
		t.Errorf("new key scopes %v", got)
	}
	if _, ok := f.store.tags()[rotationstate.Retirement{}.TagKey()]; !ok {
		t.Error("the unidentified key's retirement was not recorded")
	}
}

func TestSetSecretConfusedDeputy(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *secretkind.Document)
	}{
		{"another owner", func(d *secretkind.Document) { d.OwnerID = "intruder" }},
		{"another site", func(d *secretkind.Document) { d.URL = "https://api.datadoghq.eu" }},
		{"the same key", func(d *secretkind.Document) {}},
		{"owner type", func(d *secretkind.Document) { d.OwnerIsServiceAccount = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			d := f.doc
			tt.change(&d)
			f.setVersion(token, d, secretstore.Pending)
			if err := f.step(rotationstate.StepSet); !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
		})
	}
}

func TestTestSecretGivesUp(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.step(rotationstate.StepCreate); err != nil {
		t.Fatal(err)
	}
	f.dd.mu.Lock()
	delete(f.dd.keys, f.pending(t).KeyID) // the new key never works
	f.dd.mu.Unlock()
	start := time.Now()
	err := f.step(rotationstate.StepTest)
	if !errors.Is(err, ErrNotActive) || !errors.Is(err, datadog.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrNotActive wrapping the rejection", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the bounded wait took %s", took)
	}
	if !slices.Contains(f.store.sec.Versions["v1"], secretstore.Current) {
		t.Error("AWSCURRENT moved")
	}
}

func TestFinishSecretFailsBeforeThePromotion(t *testing.T) {
	f := newFixture(t, nil)
	for _, s := range []string{rotationstate.StepCreate, rotationstate.StepSet, rotationstate.StepTest} {
		if err := f.step(s); err != nil {
			t.Fatal(err)
		}
	}
	f.store.failOp["MoveStage"] = secretstore.ErrThrottled
	if err := f.step(rotationstate.StepFinish); !errors.Is(err, secretstore.ErrThrottled) {
		t.Fatalf("err = %v", err)
	}
	if !slices.Contains(f.store.sec.Versions["v1"], secretstore.Current) || !f.dd.has(f.orig.ID) {
		t.Error("a failed promotion changed AWSCURRENT or revoked its key")
	}
	delete(f.store.failOp, "MoveStage")
	if err := f.step(rotationstate.StepFinish); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.store.tags()[secretkind.TagLastError]; ok {
		t.Error("the completed rotation kept its last error")
	}
}

func TestFailedRevocationIsAWarning(t *testing.T) {
	f := newFixture(t, nil)
	f.store.sec.Tags[secretkind.TagRevokePrevious] = "immediately"
	f.dd.failOp["DeleteAppKey"] = datadog.ErrUnavailable
	f.rotate(t) // the promotion succeeds although the revocation fails
	tags := f.store.tags()
	if !f.dd.has(f.orig.ID) || tags[secretkind.TagRetirePrefix+f.orig.ID] == "" || !strings.Contains(tags[secretkind.TagLastWarning], f.orig.ID) {
		t.Fatalf("want the key kept, its record and a warning; tags %v", tags)
	}

	delete(f.dd.failOp, "DeleteAppKey")
	snap, err := f.rot.Snapshot(context.Background(), f.store.sec.ARN)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.rot.Reconcile(context.Background(), snap)
	if err != nil || !slices.Equal(res.Revoked, []string{f.orig.ID}) {
		t.Fatalf("Reconcile = %+v, %v", res, err)
	}
	tags = f.store.tags()
	if f.dd.has(f.orig.ID) || tags[secretkind.TagRetirePrefix+f.orig.ID] != "" || tags[secretkind.TagLastWarning] != "" {
		t.Errorf("after a successful retry: key kept %v, tags %v", f.dd.has(f.orig.ID), tags)
	}
}

// keyName is the name the rotation of f's connection gives the key it
// creates under token.
func keyName(f *fixture, token string) string {
	return secretkind.ConnectionName("prod").DatadogKeyName(secretkind.KeyScope(testPrefix, f.store.sec.ARN), token)
}
