package managedkey_test

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/kmsemu"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

const (
	prefix    = "ddconn/connections/"
	lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:ddconn-rotate"
	siteURL   = "https://api.datadoghq.com"
	connName  = "platform"
)

// managerPermissions are the role permissions of the connection's owner:
// what minting for service accounts needs.
var managerPermissions = []string{"service_account_write", "user_access_read", "user_app_keys", "api_keys_read", "api_keys_write", "api_keys_delete"}

// stack is the one in-process stack (internal/devstack: the Secrets
// Manager emulator and the Datadog simulator over real HTTP, the rotation
// function in-process as the emulator's Lambda, the sweeper) on one test
// clock, with the managed key service under test and a test organisation.
type stack struct {
	t      *testing.T
	emu    *smemu.Emulator
	sim    *ddsim.Simulator
	kms    *kmsemu.Emulator
	kmsKey string // the connection key, which holds the readers' grants
	store  *secretstore.Store
	dd     *datadog.Client
	svc    *managedkey.Service
	sweep  *sweeper.Sweeper
	logs   *logcapture.Buffer
	org    string
	apiKey string
	// conn is the connection's secret ARN, connOwner its key's owner.
	conn, connOwner string
	// sa is a service account that may hold managed keys.
	sa string

	mu   sync.Mutex
	seen []string // application keys read from secrets
}

// scope is the deployment scope of the stack's keys (secretkind.KeyScope).
func (st *stack) scope() string { return secretkind.KeyScope(prefix, st.conn) }

func newStack(t *testing.T) *stack {
	t.Helper()
	clock := smemu.NewClock(time.Now)
	st := &stack{t: t, logs: &logcapture.Buffer{}}
	ds := devstack.StartTest(t, devstack.Options{
		Logger: logging.New(st.logs, slog.LevelDebug), Now: clock.Now,
		Emulator:  smemu.Options{Clock: clock, TickInterval: 20 * time.Millisecond},
		Simulator: ddsim.Options{Now: clock.Now},
		RotationFunction: devstack.RotationFunction(rotation.Activation{
			Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Timeout: 2 * time.Second}),
		RotationFunctionARN:       lambdaARN,
		RetryInterval:             5 * time.Millisecond,
		SecretsManagerMaxAttempts: 3, SecretsManagerMaxBackoff: 5 * time.Millisecond,
	})
	st.emu, st.sim, st.store, st.dd = ds.Emulator, ds.Simulator, ds.Store, ds.Datadog
	st.kms, st.kmsKey = ds.KMS, ds.KMSKeyID
	st.svc, st.sweep = ds.ManagedKeys, ds.Sweeper

	st.org = st.sim.CreateOrg("test org")
	st.apiKey, _ = st.sim.AddAPIKey(st.org, "test api key")
	st.connOwner = st.sim.AddUser(st.org, ddsim.UserSpec{Name: "platform team", Permissions: managerPermissions})
	st.conn = st.newConnection(connName, nil)
	st.sa = st.sim.AddUser(st.org, ddsim.UserSpec{Name: "checkout", ServiceAccount: true, Permissions: []string{"metrics_read", "dashboards_read"}})
	t.Cleanup(func() { testkit.AssertNoKeyMaterial(t, st.logs.String(), st.keysSeen()...) })
	return st
}

// newConnection stores a connection secret holding a new key of the
// connection owner, as the create function would, with extra tags.
func (st *stack) newConnection(name string, tags map[string]string) string {
	st.t.Helper()
	return st.newConnectionScoped(name, tags, managerPermissions)
}

// newConnectionScoped is newConnection with a key scoped to scopes.
func (st *stack) newConnectionScoped(name string, tags map[string]string, scopes []string) string {
	st.t.Helper()
	appKey, keyID := st.sim.AddAppKey(st.connOwner, "supplied by the user", scopes)
	doc := secretkind.Document{URL: siteURL, APIKey: st.apiKey, Key: appKey, KeyID: keyID,
		OwnerID: st.connOwner, Scopes: scopes}
	value, err := secretkind.Connection.Marshal(doc)
	if err != nil {
		st.t.Fatal(err)
	}
	all := map[string]string{secretkind.TagManagedBy: secretkind.ManagedBy, secretkind.TagKeyID: keyID}
	for k, v := range tags {
		all[k] = v
	}
	sec, err := st.store.Create(context.Background(), secretstore.CreateInput{Name: prefix + name, Value: value, Tags: all})
	if err != nil {
		st.t.Fatalf("creating the connection secret: %v", err)
	}
	return sec.ARN
}

// rotate rotates a secret now, as Secrets Manager's schedule would, and
// waits until no rotation is left to run.
func (st *stack) rotate(arn string) string {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version, err := st.store.Rotate(ctx, arn, secretstore.RotateInput{LambdaARN: lambdaARN})
	if err != nil {
		st.t.Fatalf("RotateSecret: %v", err)
	}
	if err := st.emu.WaitIdle(ctx); err != nil {
		st.t.Fatal(err)
	}
	return version
}

func (st *stack) waitIdle() {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.emu.WaitIdle(ctx); err != nil {
		st.t.Fatal(err)
	}
}

// doc reads a managed key's document of the version labelled stage.
func (st *stack) doc(arn, stage string) secretkind.Document {
	st.t.Helper()
	v, err := st.store.Get(context.Background(), arn, "", stage)
	if err != nil {
		st.t.Fatalf("reading %s: %v", stage, err)
	}
	d, err := secretkind.AppKey.Parse(v.Value)
	if err != nil {
		st.t.Fatal(err)
	}
	st.mu.Lock()
	st.seen = append(st.seen, d.Key)
	st.mu.Unlock()
	return d
}

func (st *stack) describe(arn string) secretstore.Secret {
	st.t.Helper()
	sec, err := st.store.Describe(context.Background(), arn)
	if err != nil {
		st.t.Fatal(err)
	}
	return sec
}

// keysOf returns the simulator's keys owned by owner, by id.
func (st *stack) keysOf(owner string) map[string]ddsim.KeyInfo {
	out := map[string]ddsim.KeyInfo{}
	for _, k := range st.sim.Keys() {
		if k.OwnerID == owner {
			out[k.ID] = k
		}
	}
	return out
}

// works reports whether the managed key authenticates, with the API key its
// document carries or else the connection's.
func (st *stack) works(d secretkind.Document) bool {
	return st.sim.Authenticates(cmp.Or(d.APIKey, st.apiKey), d.Key)
}

// keysSeen is the API key and every application key the test read from a
// secret: none may appear in the logs.
func (st *stack) keysSeen() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string{st.apiKey}, st.seen...)
}
