package rotation_test

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

const (
	prefix    = "ddconn/connections/"
	lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:ddconn-rotate"
	siteURL   = "https://api.datadoghq.com"
)

// ownerPermissions are the role permissions of every test key owner.
var ownerPermissions = []string{"user_app_keys", "metrics_read", "dashboards_read"}

// stackOptions tunes a stack for one test.
type stackOptions struct {
	// activationDelay is the simulator's delay before a new key works,
	// on the stack's clock.
	activationDelay time.Duration
	// validateWait, when set, moves the stack's clock forward by this much
	// each time Datadog rejects one of the rotator's key validations: the
	// time testSecret waits before trying again, as the stack's clock sees
	// it. With it, an activation delay of a few seconds takes a
	// deterministic number of attempts and no real seconds.
	validateWait time.Duration
	// ddRetry is the Datadog client's own retry; off by default so that a
	// fault fails the step and the emulator retries the rotation.
	ddRetry datadog.Retry
	// maxAttempts is the emulator's attempts per rotation (default 5).
	maxAttempts int
	// activationTimeout bounds testSecret's wait (default 5 s).
	activationTimeout time.Duration
}

// stack is the Secrets Manager emulator and the Datadog simulator over real
// HTTP, the rotation function wired to them in-process as the emulator's
// Lambda, and a sweeper. The rotator's clients go through one recorder and
// the sweeper's through another; the test's own clients go through neither.
type stack struct {
	t        *testing.T
	emu      *smemu.Emulator
	sim      *ddsim.Simulator
	admin    *secretstore.Store // the test's client: not recorded, never faulted
	rec      *recorder          // the rotator's calls
	sweepRec *recorder          // the sweeper's calls, its reconciler's included
	rot      *rotation.Rotator  // the rotate function's rotator: recorded clients
	view     *rotation.Rotator  // the test's rotator: reads snapshots outside the recorders
	sweep    *sweeper.Sweeper
	logs     *logcapture.Buffer
	metrics  *logcapture.Buffer
	events   *eventLog // what the rotator and the sweeper publish
	org      string
	apiKey   string
	// plainDD is a Datadog client outside the recorders.
	plainDD *datadog.Client

	mu         sync.Mutex
	violations []string // AWSCURRENT failing to authenticate between steps
	progress   []string // after each step: "<step> -> <State.Step>"
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	clock := smemu.NewClock(time.Now)
	st := &stack{t: t, logs: &logcapture.Buffer{}, metrics: &logcapture.Buffer{}, events: &eventLog{}}
	sim, err := ddsim.New(ddsim.Options{Now: clock.Now, ActivationDelay: opts.activationDelay})
	if err != nil {
		t.Fatal(err)
	}
	st.sim = sim
	ddServer := httptest.NewServer(sim)
	t.Cleanup(ddServer.Close)

	emu, err := smemu.New(smemu.Options{
		Clock:         clock,
		Invoker:       smemu.InvokerFunc(st.invoke),
		RetryInterval: 5 * time.Millisecond,
		MaxAttempts:   opts.maxAttempts,
		TickInterval:  20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	st.emu = emu
	smServer := httptest.NewServer(emu)
	t.Cleanup(smServer.Close)
	emu.Start()
	t.Cleanup(func() { _ = emu.Close() })

	var base http.RoundTripper = http.DefaultTransport
	if opts.validateWait > 0 {
		base = &activationWait{base: base, clock: clock, wait: opts.validateWait}
	}
	st.rec = &recorder{base: base}
	recorded := &http.Client{Transport: st.rec, Timeout: 10 * time.Second}
	st.admin = newStore(t, smServer.URL, nil, 3)
	store := newStore(t, smServer.URL, recorded, 1) // SDK retries off: faults reach the step
	dd := datadog.New(datadog.Options{BaseURL: ddServer.URL, HTTPClient: recorded, Retry: opts.ddRetry})
	log := logging.New(st.logs, slog.LevelDebug)
	mw := metrics.New(st.metrics, clock.Now)
	st.rot = rotation.New(store, dd, rotation.Options{
		Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw,
		Activation: rotation.Activation{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Timeout: cmp.Or(opts.activationTimeout, 5*time.Second)},
		Publisher:  st.events,
	})
	st.plainDD = datadog.New(datadog.Options{BaseURL: ddServer.URL})
	st.view = rotation.New(st.admin, st.plainDD, rotation.Options{Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw})
	// The sweeper, and the rotator it reconciles with, have clients of
	// their own behind a second recorder, with retries off as the
	// rotator's: a fault reaches the sweeper's logic, and the next run is
	// its retry.
	st.sweepRec = &recorder{base: http.DefaultTransport}
	sweepHTTP := &http.Client{Transport: st.sweepRec, Timeout: 10 * time.Second}
	sweepStore := newStore(t, smServer.URL, sweepHTTP, 1)
	sweepDD := datadog.New(datadog.Options{BaseURL: ddServer.URL, HTTPClient: sweepHTTP})
	sweepRot := rotation.New(sweepStore, sweepDD, rotation.Options{Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw, Publisher: st.events})
	st.sweep = sweeper.New(sweepStore, sweepDD, sweepRot, sweeper.Options{Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw})

	st.org = sim.CreateOrg("test org")
	st.apiKey, _ = sim.AddAPIKey(st.org, "test api key")
	// Neither the API key nor any application key the rotator sent to
	// Datadog may appear in the logs or metrics.
	t.Cleanup(func() {
		keys := append([]string{st.apiKey}, st.rec.secretsSeen()...)
		testkit.AssertNoKeyMaterial(t, st.logs.String()+st.metrics.String()+st.events.String(), append(keys, st.sweepRec.secretsSeen()...)...)
	})
	return st
}

func newStore(t *testing.T, endpoint string, client *http.Client, attempts int) *secretstore.Store {
	t.Helper()
	s, err := secretstore.New(context.Background(), secretstore.Options{
		Endpoint: endpoint, Region: "us-east-1", StaticCredentials: true,
		MaxAttempts: attempts, MaxBackoff: 5 * time.Millisecond, HTTPClient: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invoke is the emulator's Lambda: it runs one step in-process, as the
// rotate function would, with the recorder told which step is running.
func (st *stack) invoke(ctx context.Context, _ string, payload []byte) error {
	var ev rotation.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st.rec.beginStep(ev.Step, cancel)
	err := st.rot.Handle(ctx, ev)
	if st.rec.endStep() && err == nil {
		// The process died after its last call: Secrets Manager sees a
		// failed invocation even though every call went through.
		err = errCrashed
	}
	st.checkCurrentAuthenticates(ev.SecretID, "after "+ev.Step)
	st.noteProgress(ev)
	return err
}

// noteProgress records the step the API reports after ev's step ran.
func (st *stack) noteProgress(ev rotation.Event) {
	sec, err := st.admin.Describe(context.Background(), ev.SecretID)
	if err != nil {
		st.t.Errorf("after %s: %v", ev.Step, err)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.progress = append(st.progress, ev.Step+" -> "+rotationstate.StateOf(sec).Step)
}

// takeProgress returns the steps noted since the last call.
func (st *stack) takeProgress() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.progress
	st.progress = nil
	return p
}

// conn is a connection created by a test, or a managed application key
// (then owner is its service account).
type conn struct {
	name, arn string
	owner     string
	origKeyID string
	// manager, for a managed API key, are its connection's credentials.
	manager *datadog.Credentials
}

type connOptions struct {
	policy     string   // ddconn:revoke-previous; "" = default
	scopes     []string // the original key's scopes; nil = unscoped
	unknownID  bool     // store the original key without its id
	docScopes  bool     // with unknownID: record the scopes in the document
	serviceAcc bool
	// managed makes a managed application key of a new connection instead:
	// the key belongs to a service account, its manager is the connection.
	managed bool
	// managedAPIKey makes a managed API key of a new connection instead.
	managedAPIKey bool
}

// newConnection creates a key owner with one key, and the connection secret
// that holds it, as the create function would.
func (st *stack) newConnection(name string, o connOptions) conn {
	st.t.Helper()
	if o.managed {
		return st.newManagedKey(name, o)
	}
	if o.managedAPIKey {
		return st.newManagedAPIKey(name, o)
	}
	owner := st.sim.AddUser(st.org, ddsim.UserSpec{Name: name + " owner", ServiceAccount: o.serviceAcc, Permissions: ownerPermissions})
	appKey, keyID := st.sim.AddAppKey(owner, "supplied by the user", o.scopes)
	doc := secretkind.Document{
		URL: siteURL, APIKey: st.apiKey, Key: appKey, KeyID: keyID,
		OwnerID: owner, OwnerIsServiceAccount: o.serviceAcc, Scopes: o.scopes,
	}
	if o.unknownID {
		doc.KeyID = ""
		if !o.docScopes {
			doc.Scopes = nil
		}
	}
	value, err := secretkind.Connection.Marshal(doc)
	if err != nil {
		st.t.Fatal(err)
	}
	tags := map[string]string{secretkind.TagManagedBy: secretkind.ManagedBy, secretkind.TagKeyID: doc.KeyID}
	if o.policy != "" {
		tags[secretkind.TagRevokePrevious] = o.policy
	}
	sec, err := st.admin.Create(context.Background(), secretstore.CreateInput{Name: prefix + name, Value: value, Tags: tags})
	if err != nil {
		st.t.Fatalf("creating the connection secret: %v", err)
	}
	return conn{name: name, arn: sec.ARN, owner: owner, origKeyID: keyID}
}

// rotate starts a rotation as the manage API would and waits until the
// emulator has no rotation left to run. It returns the new version id.
func (st *stack) rotate(c conn) string {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version, err := st.admin.Rotate(ctx, c.arn, secretstore.RotateInput{
		LambdaARN: lambdaARN, Rules: &secretstore.RotationRules{AutomaticallyAfterDays: 30},
	})
	if err != nil {
		st.t.Fatalf("RotateSecret: %v", err)
	}
	st.waitIdle(ctx)
	return version
}

func (st *stack) waitIdle(ctx context.Context) {
	st.t.Helper()
	if err := st.emu.WaitIdle(ctx); err != nil {
		st.t.Fatal(err)
	}
}

// sweepAfter moves every clock forward by d and runs the sweeper once.
func (st *stack) sweepAfter(d time.Duration) sweeper.Report {
	st.t.Helper()
	st.emu.Advance(d)
	rep, err := st.sweepOnce()
	if err != nil {
		st.t.Fatalf("sweeper: %v", err)
	}
	return rep
}

// sweepOnce runs the sweeper once as the scheduled invocation of the rotate
// function would, with its recorder told a sweep is running: a planned
// crash ends the run.
func (st *stack) sweepOnce() (sweeper.Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st.sweepRec.beginStep("sweep", cancel)
	defer st.sweepRec.endStep()
	return st.sweep.Run(ctx)
}

// scope is the deployment scope of c's keys (secretkind.KeyScope).
func (st *stack) scope(c conn) string { return secretkind.KeyScope(prefix, c.arn) }

func (st *stack) describe(c conn) secretstore.Secret {
	st.t.Helper()
	sec, err := st.admin.Describe(context.Background(), c.arn)
	if err != nil {
		st.t.Fatal(err)
	}
	return sec
}

// doc reads the document of the version labelled stage.
func (st *stack) doc(c conn, stage string) secretkind.Document {
	st.t.Helper()
	d, ok := st.tryDoc(c.arn, stage)
	if !ok {
		st.t.Fatalf("no readable %s version of %s", stage, c.name)
	}
	return d
}

// tryDoc reads a version of a connection or of a managed key; a managed
// key's document reads as a connection document owned by its service
// account, with the connection's API key when it holds no copy.
func (st *stack) tryDoc(arn, stage string) (secretkind.Document, bool) {
	v, err := st.admin.Get(context.Background(), arn, "", stage)
	if err != nil {
		return secretkind.Document{}, false
	}
	if d, err := secretkind.Connection.Parse(v.Value); err == nil {
		return d, true
	}
	if a, err := secretkind.APIKey.Parse(v.Value); err == nil {
		return a, true
	}
	m, err := secretkind.AppKey.Parse(v.Value)
	if err != nil {
		return secretkind.Document{}, false
	}
	m.APIKey = cmp.Or(m.APIKey, st.apiKey)
	return m, true
}

// newManagedKey creates a connection "<name>-conn" whose unscoped key may
// manage service accounts, a service account with one key scoped o.scopes,
// and the managed key's secret "keys/<name>-conn/<name>" holding it, as
// package managedkey would.
func (st *stack) newManagedKey(name string, o connOptions) conn {
	st.t.Helper()
	connName, _ := st.newManagerConnection(name, append([]string{"service_account_write"}, ownerPermissions...))
	sa := st.sim.AddUser(st.org, ddsim.UserSpec{Name: name + " service account", ServiceAccount: true, Permissions: ownerPermissions})
	appKey, keyID := st.sim.AddAppKey(sa, "minted", o.scopes)
	mdoc := secretkind.Document{URL: siteURL, Key: appKey, KeyID: keyID, OwnerID: sa, OwnerIsServiceAccount: true, Scopes: o.scopes}
	value, err := secretkind.AppKey.Marshal(mdoc)
	if err != nil {
		st.t.Fatal(err)
	}
	sec := st.createManaged(secretkind.Name{Kind: secretkind.AppKey, Connection: connName, Key: name}, value, keyID, o.policy)
	return conn{name: name, arn: sec.ARN, owner: sa, origKeyID: keyID}
}

// newManagerConnection creates the connection "<name>-conn" of a managed
// key: its unscoped key belongs to a new user "<name> manager" with
// permissions. It returns the connection's name and key.
func (st *stack) newManagerConnection(name string, permissions []string) (string, string) {
	st.t.Helper()
	manager := st.sim.AddUser(st.org, ddsim.UserSpec{Name: name + " manager", Permissions: permissions})
	connKey, connKeyID := st.sim.AddAppKey(manager, "connection key", nil)
	value, err := secretkind.Connection.Marshal(secretkind.Document{URL: siteURL, APIKey: st.apiKey, Key: connKey, KeyID: connKeyID, OwnerID: manager})
	if err != nil {
		st.t.Fatal(err)
	}
	connName := name + "-conn"
	if _, err := st.admin.Create(context.Background(), secretstore.CreateInput{Name: prefix + connName, Value: value,
		Tags: map[string]string{secretkind.TagManagedBy: secretkind.ManagedBy}}); err != nil {
		st.t.Fatal(err)
	}
	return connName, connKey
}

// createManaged stores a managed key's secret as package managedkey would:
// its document, the managed-by and key-id tags, and the revocation policy.
func (st *stack) createManaged(n secretkind.Name, value, keyID, policy string) secretstore.Secret {
	st.t.Helper()
	tags := map[string]string{secretkind.TagManagedBy: secretkind.ManagedBy, secretkind.TagKeyID: keyID}
	if policy != "" {
		tags[secretkind.TagRevokePrevious] = policy
	}
	sec, err := st.admin.Create(context.Background(), secretstore.CreateInput{Name: n.SecretName(prefix), Value: value, Tags: tags})
	if err != nil {
		st.t.Fatalf("creating the managed key's secret: %v", err)
	}
	return sec
}

// authenticates reports whether the document's keys work; a document
// without an API key to pair with is a managed API key's, checked with
// /api/v1/validate.
func (st *stack) authenticates(d secretkind.Document) bool {
	if d.APIKey == "" {
		return st.plainDD.ValidateAPIKey(context.Background(), datadog.Credentials{Site: mustSite(d.URL), APIKey: d.Key}) == nil
	}
	return st.sim.Authenticates(d.APIKey, d.Key)
}

func mustSite(url string) site.Site {
	s, err := site.Parse(url)
	if err != nil {
		panic(err)
	}
	return s
}

// newManagedAPIKey creates a connection "<name>-conn" whose key may manage
// API keys, an API key, and the managed API key's secret
// "api-keys/<name>-conn/<name>" holding it, as package managedkey would.
func (st *stack) newManagedAPIKey(name string, o connOptions) conn {
	st.t.Helper()
	connName, connKey := st.newManagerConnection(name, []string{"api_keys_read", "api_keys_write", "api_keys_delete"})
	apiKey, keyID := st.sim.AddAPIKey(st.org, "minted for "+name)
	value, err := secretkind.APIKey.Marshal(secretkind.Document{URL: siteURL, Key: apiKey, KeyID: keyID})
	if err != nil {
		st.t.Fatal(err)
	}
	sec := st.createManaged(secretkind.Name{Kind: secretkind.APIKey, Connection: connName, Key: name}, value, keyID, o.policy)
	cr := datadog.Credentials{Site: mustSite(siteURL), APIKey: st.apiKey, AppKey: connKey}
	return conn{name: name, arn: sec.ARN, origKeyID: keyID, manager: &cr}
}

// checkCurrentAuthenticates records a violation if AWSCURRENT's keys do not
// work right now.
func (st *stack) checkCurrentAuthenticates(arn, when string) {
	d, ok := st.tryDoc(arn, secretstore.Current)
	if ok && st.authenticates(d) {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.violations = append(st.violations, "AWSCURRENT does not authenticate "+when)
}

func (st *stack) takeViolations() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	v := st.violations
	st.violations = nil
	return v
}

// ownerKeys lists the owner's keys in the simulator.
func (st *stack) ownerKeys(c conn) []ddsim.KeyInfo {
	var out []ddsim.KeyInfo
	for _, k := range st.sim.Keys() {
		if k.OwnerID == c.owner {
			out = append(out, k)
		}
	}
	return out
}

func (st *stack) ownerKeyIDs(c conn) []string {
	if c.manager != nil {
		return st.managedAPIKeyIDs(c)
	}
	var ids []string
	for _, k := range st.ownerKeys(c) {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	return ids
}

// labelledKeyIDs lists the key ids the labelled versions hold.
func (st *stack) labelledKeyIDs(c conn) []string {
	st.t.Helper()
	snap, err := st.view.Snapshot(context.Background(), c.arn)
	if err != nil {
		st.t.Fatal(err)
	}
	var ids []string
	for _, d := range snap.Docs {
		if !slices.Contains(ids, d.KeyID) {
			ids = append(ids, d.KeyID)
		}
	}
	slices.Sort(ids)
	return ids
}

// managedAPIKeyIDs lists the org's API keys other than the test's own: the
// managed API key's.
func (st *stack) managedAPIKeyIDs(c conn) []string {
	st.t.Helper()
	keys, err := st.plainDD.ListAPIKeys(context.Background(), *c.manager)
	if err != nil {
		st.t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		if k.Name != "test api key" {
			ids = append(ids, k.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// activationWait is the transport under the rotator's recorder when
// stackOptions.validateWait is set: each validation of a key that Datadog
// rejects moves the clock forward by wait, so the attempt that follows
// runs as much later on the stack's clock as a real testSecret's would.
type activationWait struct {
	base  http.RoundTripper
	clock *smemu.Clock
	wait  time.Duration
}

func (a *activationWait) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	validation := req.URL.Path == "/api/v2/validate_keys" || req.URL.Path == "/api/v1/validate"
	if validation && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		a.clock.Advance(a.wait)
	}
	return resp, nil
}
