package sweeper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

const prefix = "ddconn/connections/"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// world is an in-memory Secrets Manager, Datadog and Reconciler that
// records the order of calls.
type world struct {
	secrets  []secretstore.Secret
	pages    int // secrets per List page
	snaps    map[string]rotation.Snapshot
	keys     map[string][]datadog.AppKey // by application key (the caller)
	apiKeys  []datadog.APIKey            // the organisation's
	failList map[string]bool             // application keys whose listing fails
	calls    []string
	deleted  []string
}

var (
	_ secretStore = (*world)(nil)
	_ datadogAPI  = (*world)(nil)
	_ reconciler  = (*world)(nil)
)

func (w *world) Restore(_ context.Context, id string) error {
	w.calls = append(w.calls, "Restore "+id)
	return nil
}

func (w *world) ListIncludingDeletedByName(_ context.Context, namePrefix string, limit int, cursor string) ([]secretstore.Secret, string, error) {
	w.calls = append(w.calls, "List "+cursor)
	start := 0
	if cursor != "" {
		fmt.Sscan(cursor, &start)
	}
	end := min(start+min(limit, w.pages), len(w.secrets))
	var page []secretstore.Secret
	for _, s := range w.secrets[start:end] {
		if strings.HasPrefix(s.Name, namePrefix) {
			page = append(page, s)
		}
	}
	next := ""
	if end < len(w.secrets) {
		next = fmt.Sprint(end)
	}
	return page, next, nil
}

// Describe finds a listed secret by name or ARN.
func (w *world) Describe(_ context.Context, id string) (secretstore.Secret, error) {
	w.calls = append(w.calls, "Describe "+id)
	for _, s := range w.secrets {
		if s.Name == id || s.ARN == id {
			return s, nil
		}
	}
	return secretstore.Secret{}, secretstore.ErrNotFound
}

func (w *world) Tag(_ context.Context, id string, tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		w.calls = append(w.calls, "Tag "+id+" "+k+"="+tags[k])
	}
	return nil
}

func (w *world) Untag(_ context.Context, id string, keys []string) error {
	w.calls = append(w.calls, "Untag "+id+" "+strings.Join(keys, ","))
	return nil
}

// Get reads the current document of a secret by ARN, or by name.
func (w *world) Get(_ context.Context, id, _, _ string) (secretstore.Version, error) {
	w.calls = append(w.calls, "Get "+id)
	for _, s := range w.secrets {
		if s.Name == id {
			id = s.ARN
		}
	}
	cur, ok := w.snaps[id].Current()
	if !ok {
		return secretstore.Version{}, secretstore.ErrNotFound
	}
	v, _ := secretkind.Connection.Marshal(cur)
	return secretstore.Version{Value: v}, nil
}

// Manager reads the current document as the rotator does; a managed key's
// document (owner set) is managed on its owner's service-account routes.
func (w *world) Manager(ctx context.Context, id string) (secretkind.Name, secretkind.Manager, error) {
	if _, err := w.Get(ctx, id, "", secretstore.Current); err != nil {
		return secretkind.Name{}, secretkind.Manager{}, err
	}
	snap := w.snaps[id]
	n, _ := secretkind.ParseName(prefix, snap.Secret.Name)
	cur, _ := snap.Current()
	cr, err := secretkind.Connection.Credentials(cur, secretkind.Manager{})
	return n, secretkind.Manager{Credentials: cr, Owner: datadog.KeyOwner{ServiceAccountID: cur.OwnerID}}, err
}

func (w *world) Delete(_ context.Context, id string, _ int, _ bool) (time.Time, error) {
	w.calls = append(w.calls, "DeleteSecret "+id)
	return time.Time{}, nil
}

func (w *world) ValidateKeys(context.Context, datadog.Credentials) error   { return nil }
func (w *world) ValidateAPIKey(context.Context, datadog.Credentials) error { return nil }
func (w *world) CreateAppKey(context.Context, datadog.Credentials, datadog.KeyOwner, string, []string) (datadog.AppKey, error) {
	return datadog.AppKey{}, errors.New("the sweeper creates no key")
}
func (w *world) CreateAPIKey(context.Context, datadog.Credentials, string) (datadog.APIKey, error) {
	return datadog.APIKey{}, errors.New("the sweeper creates no key")
}

func (w *world) ListAppKeys(_ context.Context, cr datadog.Credentials, o datadog.KeyOwner) ([]datadog.AppKey, error) {
	w.calls = append(w.calls, "ListAppKeys "+o.ServiceAccountID)
	if w.failList[cr.AppKey] {
		return nil, datadog.ErrUnavailable
	}
	return w.keys[cr.AppKey], nil
}

func (w *world) DeleteAppKey(_ context.Context, _ datadog.Credentials, o datadog.KeyOwner, id string) error {
	call := "DeleteAppKey " + id
	if o.ServiceAccountID != "" {
		call += " of " + o.ServiceAccountID
	}
	w.calls = append(w.calls, call)
	w.deleted = append(w.deleted, id)
	return nil
}

func (w *world) RenameAppKey(_ context.Context, _ datadog.Credentials, _ datadog.KeyOwner, id, name string) error {
	w.calls = append(w.calls, "RenameAppKey "+id+" "+name)
	return nil
}

func (w *world) RenameAPIKey(_ context.Context, _ datadog.Credentials, id, name string) error {
	w.calls = append(w.calls, "RenameAPIKey "+id+" "+name)
	return nil
}

func (w *world) ListAPIKeys(context.Context, datadog.Credentials) ([]datadog.APIKey, error) {
	w.calls = append(w.calls, "ListAPIKeys")
	return w.apiKeys, nil
}

func (w *world) DeleteAPIKey(_ context.Context, _ datadog.Credentials, id string) error {
	w.calls = append(w.calls, "DeleteAPIKey "+id)
	w.deleted = append(w.deleted, id)
	return nil
}

func (w *world) Snapshot(_ context.Context, id string) (rotation.Snapshot, error) {
	w.calls = append(w.calls, "Snapshot "+id)
	return w.snaps[id], nil
}

func (w *world) Reconcile(_ context.Context, snap rotation.Snapshot, _ ...rotation.Listing) (rotation.Reconciled, error) {
	w.calls = append(w.calls, "Reconcile "+snap.Secret.ARN)
	return rotation.Reconciled{}, nil
}

// addConnection adds a connection whose AWSCURRENT holds key "cur-<name>"
// and whose AWSPREVIOUS holds "prev-<name>", with the given owner's keys.
func (w *world) addConnection(name string, tags map[string]string, keys ...datadog.AppKey) {
	w.addSecret(name, "", tags, keys...)
}

// addSecret adds a rotated secret named prefix+name whose documents are
// owned by owner ("" for a connection's own key).
func (w *world) addSecret(name, owner string, tags map[string]string, keys ...datadog.AppKey) {
	arn := "arn:" + name
	sec := secretstore.Secret{ARN: arn, Name: prefix + name, RotationLambdaARN: "arn:aws:lambda:fn", Tags: tags,
		Versions: map[string][]string{"v2": {secretstore.Current}, "v1": {secretstore.Previous}}}
	appKey := "appkey-" + name
	w.secrets = append(w.secrets, sec)
	if w.snaps == nil {
		w.snaps, w.keys = map[string]rotation.Snapshot{}, map[string][]datadog.AppKey{}
	}
	doc := func(id string) secretkind.Document {
		return secretkind.Document{URL: "https://api.datadoghq.com", APIKey: "api", Key: appKey, KeyID: id, OwnerID: owner}
	}
	w.snaps[arn] = rotation.Snapshot{Secret: sec, Docs: map[string]secretkind.Document{"v2": doc("cur-" + name), "v1": doc("prev-" + name)}}
	w.keys[appKey] = keys
}

func key(id, name string, age time.Duration) datadog.AppKey {
	return datadog.AppKey{ID: id, Name: name, CreatedAt: now.Add(-age)}
}

func newSweeper(w *world, out *bytes.Buffer) *Sweeper {
	return New(w, w, w, Options{Prefix: prefix, Now: func() time.Time { return now }, Metrics: metrics.New(out, func() time.Time { return now })})
}

func TestOrphanRules(t *testing.T) {
	grace := map[string]string{secretkind.TagRetirePrefix + "graced": now.Add(time.Hour).Format(time.RFC3339)}
	tests := []struct {
		name  string
		key   datadog.AppKey
		tags  map[string]string
		swept bool
	}{
		{"old unreferenced key of the connection", key("k", "ddconn:prod:tok", time.Hour), nil, true},
		{"exactly the minimum age", key("k", "ddconn:prod:tok", DefaultMinAge), nil, true},
		{"younger than the minimum age", key("k", "ddconn:prod:tok", DefaultMinAge-time.Second), nil, false},
		{"creation time unknown", datadog.AppKey{ID: "k", Name: "ddconn:prod:tok"}, nil, false},
		{"held by AWSCURRENT", key("cur-prod", "ddconn:prod:tok", time.Hour), nil, false},
		{"held by AWSPREVIOUS", key("prev-prod", "ddconn:prod:tok", time.Hour), nil, false},
		{"retired: left to Reconcile", key("graced", "ddconn:prod:tok", time.Hour), grace, false},
		{"another connection's key", key("k", "ddconn:prod-eu:tok", time.Hour), nil, false},
		{"a key the user made", key("k", "my key", time.Hour), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{pages: 10}
			w.addConnection("prod", tt.tags, tt.key)
			var out bytes.Buffer
			rep, err := newSweeper(w, &out).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if swept := slices.Contains(w.deleted, tt.key.ID); swept != tt.swept || (rep.Swept == 1) != tt.swept {
				t.Errorf("swept = %v (report %+v), want %v", swept, rep, tt.swept)
			}
			if want := fmt.Sprintf(`"OrphansSwept":%d`, rep.Swept); !strings.Contains(out.String(), want) {
				t.Errorf("metrics %s lack %s", out.String(), want)
			}
		})
	}
}

// TestListsKeysBeforeReadingLabels checks the order that makes the sweeper
// safe during a rotation: every key page, then the labels, then deletions,
// then the due revocations.
func TestListsKeysBeforeReadingLabels(t *testing.T) {
	w := &world{pages: 10}
	w.addConnection("prod", nil, key("a", "ddconn:prod:1", time.Hour), key("b", "ddconn:prod:2", time.Hour))
	if _, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"List ", "Get arn:prod", "ListAppKeys ", "Snapshot arn:prod", "DeleteAppKey a", "DeleteAppKey b", "Reconcile arn:prod"}
	if !slices.Equal(w.calls, want) {
		t.Errorf("calls\n got %v\nwant %v", w.calls, want)
	}
}

func TestVisitsEveryPageAndSkipsUnrotatedSecrets(t *testing.T) {
	w := &world{pages: 2}
	for i := range 5 {
		w.addConnection(fmt.Sprint("c", i), nil, key(fmt.Sprint("orphan", i), fmt.Sprintf("ddconn:c%d:t", i), time.Hour))
	}
	w.secrets[1].RotationLambdaARN = "" // never rotated: skipped without a Datadog call
	w.secrets[3].RotationLambdaARN = "" // never rotated, but a retirement is recorded: visited
	w.secrets[3].Tags = map[string]string{secretkind.TagRetirePrefix + "x": "next-rotation"}
	w.secrets = append(w.secrets, secretstore.Secret{ARN: "arn:other", Name: "other/secret", RotationLambdaARN: "arn:fn"})

	rep, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connections != 4 || rep.Swept != 4 || slices.Contains(w.deleted, "orphan1") {
		t.Errorf("report %+v, deleted %v", rep, w.deleted)
	}
	if lists := slices.DeleteFunc(slices.Clone(w.calls), func(c string) bool { return !strings.HasPrefix(c, "List ") }); len(lists) != 3 {
		t.Errorf("ListSecrets calls %v, want 3 pages", lists)
	}
}

func TestOneFailingConnectionDoesNotStopTheOthers(t *testing.T) {
	w := &world{pages: 10, failList: map[string]bool{"appkey-broken": true}}
	w.addConnection("broken", nil, key("x", "ddconn:broken:t", time.Hour))
	w.addConnection("fine", nil, key("y", "ddconn:fine:t", time.Hour))
	rep, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background())
	if !errors.Is(err, datadog.ErrUnavailable) || !strings.Contains(err.Error(), prefix+"broken") {
		t.Errorf("error %v, want the broken connection's failure", err)
	}
	if rep.Failed != 1 || rep.Swept != 1 || !slices.Equal(w.deleted, []string{"y"}) {
		t.Errorf("report %+v, deleted %v", rep, w.deleted)
	}
}

// TestManagedKeySecrets checks that a managed application key's secret is
// swept on its service account's routes under its own key-name prefix, and
// a managed API key's among the organisation's API keys.
func TestManagedKeySecrets(t *testing.T) {
	w := &world{pages: 10}
	const managed = "ddconn-managed:keys/prod/checkout:"
	w.addConnection("prod", nil,
		key("conn-orphan", "ddconn:prod:t", time.Hour),
		// The connection's owner may be the same service account: a managed
		// key's name must not look like one of the connection's.
		key("managed-of-conn-owner", managed+"t", time.Hour))
	w.addSecret("keys/prod/checkout", "sa-1", nil,
		key("managed-orphan", managed+"t", time.Hour),
		key("other-managed", "ddconn-managed:keys/prod/checkout-eu:t", time.Hour),
		key("conn-named", "ddconn:prod:t2", time.Hour))
	w.addSecret("api-keys/prod/agent", "", nil)
	w.apiKeys = []datadog.APIKey{
		{ID: "api-orphan", Name: "ddconn-managed:api-keys/prod/agent:t", CreatedAt: now.Add(-time.Hour)},
		{ID: "api-young", Name: "ddconn-managed:api-keys/prod/agent:t2", CreatedAt: now},
		{ID: "cur-api-keys/prod/agent", Name: "ddconn-managed:api-keys/prod/agent:t3", CreatedAt: now.Add(-time.Hour)},
		{ID: "org-key", Name: "ddconn:prod:looks-like-a-connection-key", CreatedAt: now.Add(-time.Hour)},
	}

	rep, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DeleteAppKey conn-orphan", "DeleteAppKey managed-orphan of sa-1", "DeleteAPIKey api-orphan"}
	if !slices.Equal(w.deleted, []string{"conn-orphan", "managed-orphan", "api-orphan"}) || rep.Connections != 3 {
		t.Errorf("report %+v, deleted %v", rep, w.deleted)
	}
	for _, c := range want {
		if !slices.Contains(w.calls, c) {
			t.Errorf("no call %q in %v", c, w.calls)
		}
	}
}

// TestKeyHeadroomMetric: each swept secret publishes how many more keys
// its owner may hold under Datadog's limit.
func TestKeyHeadroomMetric(t *testing.T) {
	w := &world{pages: 10}
	w.addConnection("prod", nil, key("k", "my key", time.Hour))
	var out bytes.Buffer
	if _, err := newSweeper(w, &out).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, keys := range w.keys {
		listed += len(keys)
	}
	want := fmt.Sprintf(`"KeyHeadroom":%d`, secretkind.AppKey.KeyLimit()-listed)
	if !strings.Contains(out.String(), want) {
		t.Fatalf("metrics %s lack %s", out.String(), want)
	}
}

// TestLowKeyHeadroomIsMarked: a connection whose owner is near Datadog's
// key limit is tagged once, so the Connection object warns; with room
// again the tag goes.
func TestLowKeyHeadroomIsMarked(t *testing.T) {
	near := make([]datadog.AppKey, secretkind.AppKey.KeyLimit()-secretkind.LowKeyHeadroom)
	for i := range near {
		near[i] = key(fmt.Sprint("k", i), "a key the user made", time.Hour)
	}
	w := &world{pages: 10}
	w.addConnection("prod", nil, near...)
	if _, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(w.calls, func(c string) bool { return strings.HasPrefix(c, "Tag arn:prod "+secretkind.TagLowKeyHeadroom) }) {
		t.Fatalf("calls %v: the low headroom was not marked", w.calls)
	}

	w = &world{pages: 10}
	w.addConnection("prod", map[string]string{secretkind.TagLowKeyHeadroom: "1 of 50"}, key("k", "a key the user made", time.Hour))
	if _, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(w.calls, "Untag arn:prod "+secretkind.TagLowKeyHeadroom) {
		t.Fatalf("calls %v: the mark stayed with room again", w.calls)
	}
}

// TestSweepsAreAudited: a sweep that deletes an orphan writes an audit
// record with ddconn as the actor.
func TestSweepsAreAudited(t *testing.T) {
	w := &world{pages: 10}
	w.addConnection("prod", nil, key("k", "ddconn:prod:tok", time.Hour))
	var logs bytes.Buffer
	s := New(w, w, w, Options{Prefix: prefix, Now: func() time.Time { return now }, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"audit":true`, `"action":"sweeper sweep keys"`, `"actor_kind":"ddconn"`, `"target":"arn:prod"`, `"outcome":"allowed"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the sweep's logs lack %s:\n%s", want, logs.String())
		}
	}
}

// ownerTags are the tags of a connection whose key belongs to owner on US1.
func ownerTags(owner string) map[string]string {
	return map[string]string{secretkind.TagOwnerID: owner, secretkind.TagSite: "US1"}
}

// TestCallsPerSecretPerSweep measures the remote calls of one sweep over
// 40 rotated connections of one owner, one of which has an orphan: one
// key listing for all of them, and Secrets Manager reads only for the
// first (to learn who manages the keys) and the one with work.
func TestCallsPerSecretPerSweep(t *testing.T) {
	const n = 40
	w := &world{pages: 100}
	var all []datadog.AppKey
	for i := range n {
		c := fmt.Sprint("c", i)
		// A rotation's key is named after its token, the version id.
		all = append(all, key("cur-"+c, "ddconn:"+c+":v2", 48*time.Hour), key("prev-"+c, "ddconn:"+c+":v1", 96*time.Hour))
	}
	all = append(all, key("orphan-c7", "ddconn:c7:crashed", time.Hour), key("young-c9", "ddconn:c9:in-flight", time.Minute))
	for i := range n {
		w.addConnection(fmt.Sprint("c", i), ownerTags("u1"))
	}
	for k := range w.keys {
		w.keys[k] = all // one owner: every connection's key lists the same keys
	}
	rep, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	count := func(prefix string) int {
		return len(slices.DeleteFunc(slices.Clone(w.calls), func(c string) bool { return !strings.HasPrefix(c, prefix) }))
	}
	lists, gets, snaps, describes := count("ListAppKeys"), count("Get "), count("Snapshot "), count("Describe ")
	t.Logf("%d secrets: %d ListSecrets page(s), %d key listing(s), %d Get, %d Describe, %d Snapshot, %d delete(s): %.3f remote reads per secret",
		n, count("List "), lists, gets, describes, snaps, len(w.deleted), float64(count("List ")+lists+gets+describes+snaps)/n)
	if lists != 1 || rep.Listings != 1 {
		t.Errorf("key listings = %d (report %d), want 1 for one owner", lists, rep.Listings)
	}
	if gets != 1 || snaps != 1 || describes != 0 {
		t.Errorf("Secrets Manager reads: %d Get, %d Snapshot, %d Describe; want 1 Get (the first secret's manager) and 1 Snapshot (c7's orphan)", gets, snaps, describes)
	}
	if !slices.Equal(w.deleted, []string{"orphan-c7"}) || rep.Unread != n-1 || rep.Connections != n {
		t.Errorf("deleted %v, report %+v", w.deleted, rep)
	}
	if i, j := slices.Index(w.calls, "ListAppKeys "), slices.Index(w.calls, "Snapshot arn:c7"); i < 0 || j < i {
		t.Errorf("c7 was read before its owner's keys were listed: %v", w.calls)
	}
}

// TestNeedsReading: what makes the sweeper read a secret whose owner's
// keys it already holds.
func TestNeedsReading(t *testing.T) {
	due := now.Add(-time.Minute).Format(time.RFC3339)
	ahead := now.Add(time.Hour).Format(time.RFC3339)
	tests := []struct {
		name string
		keys []datadog.AppKey
		tags map[string]string
		read bool
	}{
		{"keys of labelled versions only", []datadog.AppKey{key("cur-prod", "ddconn:prod:v2", time.Hour), key("prev-prod", "ddconn:prod:v1", time.Hour)}, nil, false},
		{"a key of an unlabelled version", []datadog.AppKey{key("x", "ddconn:prod:v0", time.Hour)}, nil, true},
		{"a young key of an unlabelled version", []datadog.AppKey{key("x", "ddconn:prod:v3", time.Minute)}, nil, false},
		{"another connection's key", []datadog.AppKey{key("x", "ddconn:prod-eu:v0", time.Hour)}, nil, false},
		{"next-rotation retirement of a labelled version's key", []datadog.AppKey{key("prev-prod", "ddconn:prod:v1", time.Hour)},
			map[string]string{secretkind.TagRetirePrefix + "prev-prod": "next-rotation"}, false},
		{"next-rotation retirement of a key the user made", []datadog.AppKey{key("prev-prod", "user key", time.Hour)},
			map[string]string{secretkind.TagRetirePrefix + "prev-prod": "next-rotation"}, true},
		{"next-rotation retirement of an unlisted key", nil,
			map[string]string{secretkind.TagRetirePrefix + "gone": "next-rotation"}, true},
		{"a retirement due", nil, map[string]string{secretkind.TagRetirePrefix + "prev-prod": due}, true},
		{"a retirement not yet due", nil, map[string]string{secretkind.TagRetirePrefix + "prev-prod": ahead}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{pages: 10}
			w.addConnection("prod", tt.tags, tt.keys...)
			if _, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if read := slices.Contains(w.calls, "Snapshot arn:prod"); read != tt.read {
				t.Errorf("read = %v, want %v: %v", read, tt.read, w.calls)
			}
		})
	}
}

// TestSharedListingFailureFallsBack: when the listing made with one
// connection's key fails, the next connection of the same owner lists
// with its own.
func TestSharedListingFailureFallsBack(t *testing.T) {
	w := &world{pages: 10, failList: map[string]bool{"appkey-broken": true}}
	w.addConnection("broken", ownerTags("u1"))
	w.addConnection("fine", ownerTags("u1"))
	orphan := key("y", "ddconn:fine:t", time.Hour)
	w.keys["appkey-fine"] = []datadog.AppKey{orphan}
	rep, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background())
	if !errors.Is(err, datadog.ErrUnavailable) {
		t.Errorf("error %v, want the broken connection's failure", err)
	}
	if rep.Failed != 1 || !slices.Equal(w.deleted, []string{"y"}) || rep.Listings != 1 {
		t.Errorf("report %+v, deleted %v", rep, w.deleted)
	}
}

// TestRunPageCoversEveryPage: the pages Pages returns, each swept by
// RunPage on its own, sweep every secret once; a stray seen in one page
// is revoked only when its secret, read again, is gone — not when it is
// merely in another page.
func TestRunPageCoversEveryPage(t *testing.T) {
	const arnBase = "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + prefix
	w := &world{pages: 2}
	for i := range 5 {
		w.addConnection(fmt.Sprint("c", i), nil, key(fmt.Sprint("orphan", i), fmt.Sprintf("ddconn:c%d:t", i), time.Hour))
	}
	// Real ARNs, so the keys carry the deployment scope.
	for i := range w.secrets {
		old := w.secrets[i].ARN
		w.secrets[i].ARN = arnBase + w.secrets[i].Name[len(prefix):] + "-AbCdEf"
		snap := w.snaps[old]
		snap.Secret = w.secrets[i]
		w.snaps[w.secrets[i].ARN] = snap
	}
	scope := secretkind.KeyScope(prefix, w.secrets[0].ARN)
	c4, _ := secretkind.ParseName(prefix, prefix+"c4")
	gone, _ := secretkind.ParseName(prefix, prefix+"gone")
	// c0's owner also holds a key of c4 (another page) and one of a
	// secret deleted outside ddconn.
	w.keys["appkey-c0"] = append(w.keys["appkey-c0"],
		key("of-c4", c4.DatadogKeyName(scope, "tok"), time.Hour),
		key("of-gone", gone.DatadogKeyName(scope, "tok"), time.Hour))

	s := newSweeper(w, &bytes.Buffer{})
	pages, err := s.Pages(context.Background())
	want := []PageRequest{{Cursor: "", Page: 1, Pages: 3}, {Cursor: "2", Page: 2, Pages: 3}, {Cursor: "4", Page: 3, Pages: 3}}
	if err != nil || !slices.Equal(pages, want) {
		t.Fatalf("Pages = %v, %v; want %v", pages, err, want)
	}
	var total Report
	for _, pg := range pages {
		rep, err := s.RunPage(context.Background(), pg)
		if err != nil {
			t.Fatal(err)
		}
		total.Connections += rep.Connections
		total.Swept += rep.Swept
	}
	slices.Sort(w.deleted)
	if want := []string{"of-gone", "orphan0", "orphan1", "orphan2", "orphan3", "orphan4"}; !slices.Equal(w.deleted, want) || total.Connections != 5 {
		t.Errorf("deleted %v, want %v; report %+v", w.deleted, want, total)
	}
	if !slices.Contains(w.calls, "Describe "+prefix+"c4") {
		t.Errorf("the stray of c4 was not checked by reading c4: %v", w.calls)
	}
}

type recordingPublisher struct{ got []PageRequest }

func (r *recordingPublisher) Publish(_ context.Context, detailType string, detail any, _ ...string) (string, error) {
	if detailType != PageDetailType {
		return "", fmt.Errorf("detail-type %q", detailType)
	}
	r.got = append(r.got, detail.(PageRequest))
	return "id", nil
}

// TestFanOutPublishesEveryPage: one event per page, reading nothing but
// ListSecrets.
func TestFanOutPublishesEveryPage(t *testing.T) {
	w := &world{pages: 2}
	for i := range 5 {
		w.addConnection(fmt.Sprint("c", i), nil)
	}
	pub := &recordingPublisher{}
	n, err := newSweeper(w, &bytes.Buffer{}).FanOut(context.Background(), pub)
	want := []PageRequest{{Cursor: "", Page: 1, Pages: 3}, {Cursor: "2", Page: 2, Pages: 3}, {Cursor: "4", Page: 3, Pages: 3}}
	if err != nil || n != 3 || !slices.Equal(pub.got, want) {
		t.Fatalf("FanOut = %d, %v; published %v, want %v", n, err, pub.got, want)
	}
	for _, c := range w.calls {
		if !strings.HasPrefix(c, "List ") {
			t.Errorf("FanOut made %q: it should only list", c)
		}
	}
}

// TestPageBoundaryKeepsAnOwnersKeysTogether: a connection's managed keys
// straddle a page boundary; the page they start in takes the rest of
// them from the next page, which skips them, so each owner's keys (two
// service accounts', interleaved in name order) are listed once by the
// whole fanned-out sweep, and every secret is swept once.
func TestPageBoundaryKeepsAnOwnersKeysTogether(t *testing.T) {
	w := &world{pages: 4}
	w.addConnection("prod", ownerTags("u1"))
	for i := range 5 {
		sa := fmt.Sprint("sa-", 1+i%2)
		w.addSecret(fmt.Sprintf("keys/prod/svc-%d", i), sa, map[string]string{secretkind.TagServiceAccountID: sa})
	}
	w.addConnection("zeta", ownerTags("u2"))
	s := newSweeper(w, &bytes.Buffer{})
	pages, err := s.Pages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []PageRequest{{Cursor: "", Next: "4", Take: 2, Page: 1, Pages: 2}, {Cursor: "4", Skip: 2, Page: 2, Pages: 2}}
	if !slices.Equal(pages, want) {
		t.Errorf("Pages = %+v, want %+v", pages, want)
	}
	w.calls = nil
	var total Report
	for _, pg := range pages {
		rep, err := s.RunPage(context.Background(), pg)
		if err != nil {
			t.Fatal(err)
		}
		total.Connections += rep.Connections
		total.Listings += rep.Listings
	}
	listings := map[string]int{}
	for _, c := range w.calls {
		if strings.HasPrefix(c, "ListAppKeys ") {
			listings[c]++
		}
	}
	// prod's and zeta's own keys (current user), and each service
	// account's.
	wantListings := map[string]int{"ListAppKeys ": 2, "ListAppKeys sa-1": 1, "ListAppKeys sa-2": 1}
	if !maps.Equal(listings, wantListings) || total.Listings != 4 || total.Connections != len(w.secrets) {
		t.Errorf("listings %v, want %v; report %+v for %d secrets", listings, wantListings, total, len(w.secrets))
	}
}

// TestPagesSplitOnlyARunThatFillsAPage: a run of managed keys that fills
// the whole next page is split where the pages meet; the page its tail
// starts then takes that tail from the page after.
func TestPagesSplitOnlyARunThatFillsAPage(t *testing.T) {
	w := &world{pages: 2}
	for i := range 5 {
		w.addSecret(fmt.Sprintf("keys/a/k%d", i), "sa", map[string]string{secretkind.TagServiceAccountID: "sa"})
	}
	w.addConnection("b", ownerTags("u1"))
	pages, err := newSweeper(w, &bytes.Buffer{}).Pages(context.Background())
	want := []PageRequest{{Cursor: "", Page: 1, Pages: 3}, {Cursor: "2", Next: "4", Take: 1, Page: 2, Pages: 3}, {Cursor: "4", Skip: 1, Page: 3, Pages: 3}}
	if err != nil || !slices.Equal(pages, want) {
		t.Fatalf("Pages = %v, %v; want %v", pages, err, want)
	}
}

// TestManagedKeysListedWithTheConnectionsKey: a managed application key
// whose secret names its service account is listed with its connection's
// current key, read once for the connection and all its managed keys;
// the managed keys' own secrets are not read.
func TestManagedKeysListedWithTheConnectionsKey(t *testing.T) {
	w := &world{pages: 10}
	w.addConnection("prod", ownerTags("u1"))
	for i := range 3 {
		w.addSecret(fmt.Sprintf("keys/prod/svc-%d", i), "sa-1", map[string]string{secretkind.TagServiceAccountID: "sa-1"})
	}
	w.addSecret("api-keys/prod/agent", "", nil)
	w.keys["appkey-prod"] = []datadog.AppKey{key("m", "ddconn-managed:keys/prod/svc-1:crashed", time.Hour)}
	rep, err := newSweeper(w, &bytes.Buffer{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gets := slices.DeleteFunc(slices.Clone(w.calls), func(c string) bool { return !strings.HasPrefix(c, "Get ") })
	if !slices.Equal(gets, []string{"Get arn:prod"}) {
		t.Errorf("reads %v, want the connection's current document only", gets)
	}
	if !slices.Equal(w.deleted, []string{"m"}) || !slices.Contains(w.calls, "DeleteAppKey m of sa-1") || rep.Listings != 3 {
		t.Errorf("deleted %v, report %+v, calls %v", w.deleted, rep, w.calls)
	}
}

// TestStrayReadsAreBounded: a page whose owner's listing holds the keys
// of many other secrets reads each of them once (not once per key), at
// most maxStrayReads a pass, and the next hour's pass reads the rest: two
// sweeps revoke the keys of 150 secrets deleted outside ddconn.
func TestStrayReadsAreBounded(t *testing.T) {
	const arnBase = "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + prefix
	w := &world{pages: 10}
	w.addConnection("c0", nil)
	old := w.secrets[0].ARN
	w.secrets[0].ARN = arnBase + "c0-AbCdEf"
	snap := w.snaps[old]
	snap.Secret = w.secrets[0]
	w.snaps[w.secrets[0].ARN] = snap
	scope := secretkind.KeyScope(prefix, w.secrets[0].ARN)
	const gone = 150
	var all []string
	for i := range gone {
		n := secretkind.ConnectionName(fmt.Sprintf("gone-%03d", i))
		for _, tok := range []string{"a", "b"} {
			id := fmt.Sprintf("%s-%s", n.Connection, tok)
			all = append(all, id)
			w.keys["appkey-c0"] = append(w.keys["appkey-c0"], key(id, n.DatadogKeyName(scope, tok), time.Hour))
		}
	}
	clock := now
	s := New(w, w, w, Options{Prefix: prefix, Now: func() time.Time { return clock }})
	if _, err := s.RunPage(context.Background(), PageRequest{}); err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, c := range w.calls {
		if strings.HasPrefix(c, "Describe "+prefix+"gone-") {
			reads++
		}
	}
	if reads != maxStrayReads || len(w.deleted) != 2*maxStrayReads {
		t.Fatalf("first pass: %d reads, %d keys revoked; want %d and %d", reads, len(w.deleted), maxStrayReads, 2*maxStrayReads)
	}
	clock = clock.Add(time.Hour)
	if _, err := s.RunPage(context.Background(), PageRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range all {
		if !slices.Contains(w.deleted, id) {
			t.Fatalf("after two hourly passes, stray %s is still alive", id)
		}
	}
}
