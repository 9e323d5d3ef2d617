package rotation_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
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
	// activationDelay is the simulator's delay before a new key works.
	activationDelay time.Duration
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
// Lambda, and a sweeper. The rotator's clients go through a recorder; the
// test's own clients do not.
type stack struct {
	t       *testing.T
	emu     *smemu.Emulator
	sim     *ddsim.Simulator
	admin   *secretstore.Store // the test's client: not recorded, never faulted
	rec     *recorder
	rot     *rotation.Rotator // the rotate function's rotator: recorded clients
	view    *rotation.Rotator // the test's rotator: reads snapshots outside the recorder
	sweep   *sweeper.Sweeper
	logs    *syncBuffer
	metrics *syncBuffer
	org     string
	apiKey  string

	mu         sync.Mutex
	violations []string // AWSCURRENT failing to authenticate between steps
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	clock := smemu.NewClock(time.Now)
	st := &stack{t: t, logs: &syncBuffer{}, metrics: &syncBuffer{}}
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

	st.rec = &recorder{base: http.DefaultTransport}
	recorded := &http.Client{Transport: st.rec, Timeout: 10 * time.Second}
	st.admin = newStore(t, smServer.URL, nil, 3)
	store := newStore(t, smServer.URL, recorded, 1) // SDK retries off: faults reach the step
	dd := datadog.New(datadog.Options{BaseURL: ddServer.URL, HTTPClient: recorded, Retry: opts.ddRetry})
	log := logging.New(st.logs, slog.LevelDebug)
	mw := metrics.New(st.metrics, clock.Now)
	st.rot = rotation.New(store, dd, rotation.Options{
		Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw,
		Activation: rotation.Activation{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Timeout: cmp.Or(opts.activationTimeout, 5*time.Second)},
	})
	// The sweeper has clients of its own, outside the recorder: the fault
	// matrix faults the rotation, not the clean-up that follows.
	sweepDD := datadog.New(datadog.Options{BaseURL: ddServer.URL})
	st.view = rotation.New(st.admin, sweepDD, rotation.Options{Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw})
	st.sweep = sweeper.New(st.admin, sweepDD, st.view, sweeper.Options{Prefix: prefix, Now: clock.Now, Logger: log, Metrics: mw})

	st.org = sim.CreateOrg("test org")
	st.apiKey, _ = sim.AddAPIKey(st.org, "test api key")
	t.Cleanup(func() { st.assertNoKeyMaterialLogged() })
	return st
}

func TestMain(m *testing.M) {
	// The AWS SDK refuses a custom *http.Client when AWS_CA_BUNDLE is set
	// (it cannot add the bundle to it); the emulator is plain HTTP anyway.
	os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
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
	return err
}

// conn is a connection created by a test.
type conn struct {
	name, arn string
	owner     string
	origKeyID string
}

type connOptions struct {
	policy     string   // ddconn:revoke-previous; "" = default
	scopes     []string // the original key's scopes; nil = unscoped
	unknownID  bool     // store the original key without its id
	docScopes  bool     // with unknownID: record the scopes in the document
	serviceAcc bool
}

// newConnection creates a key owner with one key, and the connection secret
// that holds it, as the create function would.
func (st *stack) newConnection(name string, o connOptions) conn {
	st.t.Helper()
	owner := st.sim.AddUser(st.org, ddsim.UserSpec{Name: name + " owner", ServiceAccount: o.serviceAcc, Permissions: ownerPermissions})
	appKey, keyID := st.sim.AddAppKey(owner, "supplied by the user", o.scopes)
	doc := connection.Document{
		URL: siteURL, APIKey: st.apiKey, ApplicationKey: appKey, ApplicationKeyID: keyID,
		OwnerID: owner, OwnerIsServiceAccount: o.serviceAcc, Scopes: o.scopes,
	}
	if o.unknownID {
		doc.ApplicationKeyID = ""
		if !o.docScopes {
			doc.Scopes = nil
		}
	}
	value, err := doc.Marshal()
	if err != nil {
		st.t.Fatal(err)
	}
	tags := map[string]string{connection.TagManagedBy: connection.ManagedBy, rotation.TagApplicationKeyID: doc.ApplicationKeyID}
	if o.policy != "" {
		tags[rotation.TagRevokePrevious] = o.policy
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
	rep, err := st.sweep.Run(context.Background())
	if err != nil {
		st.t.Fatalf("sweeper: %v", err)
	}
	return rep
}

func (st *stack) describe(c conn) secretstore.Secret {
	st.t.Helper()
	sec, err := st.admin.Describe(context.Background(), c.arn)
	if err != nil {
		st.t.Fatal(err)
	}
	return sec
}

// doc reads the document of the version labelled stage.
func (st *stack) doc(c conn, stage string) connection.Document {
	st.t.Helper()
	d, ok := st.tryDoc(c.arn, stage)
	if !ok {
		st.t.Fatalf("no readable %s version of %s", stage, c.name)
	}
	return d
}

func (st *stack) tryDoc(arn, stage string) (connection.Document, bool) {
	v, err := st.admin.Get(context.Background(), arn, "", stage)
	if err != nil {
		return connection.Document{}, false
	}
	d, err := connection.ParseDocument(v.Value)
	return d, err == nil
}

func (st *stack) authenticates(d connection.Document) bool {
	return st.sim.Authenticates(d.APIKey, d.ApplicationKey)
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
		if !slices.Contains(ids, d.ApplicationKeyID) {
			ids = append(ids, d.ApplicationKeyID)
		}
	}
	slices.Sort(ids)
	return ids
}

// assertNoKeyMaterialLogged fails the test if the API key, or any
// application key the rotator sent to Datadog, appears in the logs or
// metrics.
func (st *stack) assertNoKeyMaterialLogged() {
	out := st.logs.String() + st.metrics.String()
	if strings.Contains(out, st.apiKey) {
		st.t.Error("the API key appears in the logs")
	}
	for _, secret := range st.rec.secretsSeen() {
		if strings.Contains(out, secret) {
			st.t.Error("an application key appears in the logs or metrics")
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
