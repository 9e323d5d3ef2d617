package provisioning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/provisioning"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

const (
	prefix    = config.DefaultSecretPrefix
	platform  = "platform" // the demo connection: its key mints application keys
	keysConn  = "keys"     // a connection whose key may also manage API keys
	accountID = "123456789012"
)

// env is a running local ddconn (internal/devstack): the Secrets Manager
// emulator, the Datadog simulator and the EventBridge stand-in over real
// HTTP, with the create function's processor behind the bus's rule.
type env struct {
	t    testing.TB
	st   *devstack.Stack
	logs *logcapture.Buffer
	// secrets are key materials that must never appear in outcomes or logs.
	secrets []string
	// keysCreds are the credentials of the keys connection.
	keysCreds datadog.Credentials
}

func newEnv(t testing.TB) *env {
	t.Helper()
	logs := &logcapture.Buffer{}
	st, err := devstack.Start(context.Background(), devstack.Options{
		SeedDemo:         true,
		Logger:           logging.New(logs, slog.LevelDebug),
		EventRetryDelays: []time.Duration{}, // tests call Handle to see retries
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, logs: logs, secrets: []string{ddsim.DemoAPIKey, ddsim.DemoAppKey}}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the stack: %v", err)
		}
		testkit.AssertNoKeyMaterial(t, e.output(), e.secrets...)
	})
	e.createConnection(platform, ddsim.DemoAPIKey, ddsim.DemoAppKey)
	keysKey, _ := st.Simulator.AddAppKey(ddsim.DemoRotatorID, "keys-manager", ddsim.DemoServiceAccountPermissions())
	e.secrets = append(e.secrets, keysKey)
	e.createConnection(keysConn, ddsim.DemoAPIKey, keysKey)
	e.keysCreds = e.credentials(keysConn)
	return e
}

func (e *env) createConnection(name, apiKey, appKey string) {
	e.t.Helper()
	_, err := e.st.Service.Create(context.Background(), connection.CreateInput{Name: name,
		Credentials: &connection.CredentialsInput{URL: "datadoghq.com", APIKey: apiKey, ApplicationKey: appKey}})
	if err != nil {
		e.t.Fatalf("creating connection %s: %v", name, err)
	}
}

// credentials reads a connection's keys back from its secret.
func (e *env) credentials(name string) datadog.Credentials {
	e.t.Helper()
	v, err := e.st.Store.Get(context.Background(), prefix+name, "", secretstore.Current)
	if err != nil {
		e.t.Fatal(err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		e.t.Fatal(err)
	}
	cr, err := secretkind.Connection.Credentials(doc, secretkind.Manager{})
	if err != nil {
		e.t.Fatal(err)
	}
	return cr
}

// stage writes a staging secret holding value and returns its ARN.
func (e *env) stage(name, value string) string {
	e.t.Helper()
	sec, err := e.st.Store.Create(context.Background(), secretstore.CreateInput{Name: prefix + provisioning.StagingPrefix + name, Value: value})
	if err != nil {
		e.t.Fatal(err)
	}
	return sec.ARN
}

func stagedKeys(apiKey, appKey string) string {
	return fmt.Sprintf(`{"apiKey":%q,"applicationKey":%q}`, apiKey, appKey)
}

// request builds a request event as EventBridge hands it to the function.
func request(id, detailType string, detail any) events.EventBridgeEvent {
	raw, err := json.Marshal(detail)
	if err != nil {
		panic(err)
	}
	return events.EventBridgeEvent{Version: "0", ID: id, DetailType: detailType, Source: provisioning.RequestSource,
		AccountID: accountID, Time: time.Now().UTC().Truncate(time.Second), Region: "us-east-1", Resources: []string{}, Detail: raw}
}

// deliver hands ev to the processor n times at once, as duplicate
// deliveries would, and returns the errors.
func (e *env) deliver(ev events.EventBridgeEvent, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = e.st.Provisioning.Handle(context.Background(), ev) })
	}
	wg.Wait()
	return errs
}

// outcomes are the events ddconn published about request id.
func (e *env) outcomes(id string) []busemu.Event {
	var out []busemu.Event
	for _, ev := range e.st.Bus.EventsOf(provisioning.OutcomeSource, "") {
		var d struct {
			RequestID string `json:"requestId"`
		}
		if json.Unmarshal(ev.Detail, &d) == nil && d.RequestID == id {
			out = append(out, ev)
		}
	}
	return out
}

// failure is the single Provisioning Failed outcome of request id.
func (e *env) failure(id string) provisioning.Failed {
	e.t.Helper()
	out := e.outcomes(id)
	if len(out) != 1 || out[0].DetailType != provisioning.ProvisioningFailed {
		e.t.Fatalf("outcomes of %s: %s, want one %s", id, describe(out), provisioning.ProvisioningFailed)
	}
	var f provisioning.Failed
	if err := json.Unmarshal(out[0].Detail, &f); err != nil {
		e.t.Fatal(err)
	}
	return f
}

func describe(evs []busemu.Event) string {
	var parts []string
	for _, ev := range evs {
		parts = append(parts, ev.DetailType+" "+string(ev.Detail))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// scope is the deployment scope (secretkind.KeyScope) of the keys of
// connection conn's secrets.
func (e *env) scope(conn string) string {
	e.t.Helper()
	sec, err := e.st.Store.Describe(context.Background(), prefix+conn)
	if err != nil {
		e.t.Fatal(err)
	}
	return secretkind.KeyScope(prefix, sec.ARN)
}

// appKeysNamed counts the application keys in Datadog minted for a managed
// key of connection conn named name.
func (e *env) appKeysNamed(conn, name string) int {
	want := secretkind.Name{Kind: secretkind.AppKey, Connection: conn, Key: name}
	n := 0
	for _, k := range e.st.Simulator.Keys() {
		if want.OwnsKey(e.scope(conn), k.Name) {
			n++
		}
	}
	return n
}

// apiKeysNamed counts the API keys in Datadog minted for a managed API key.
func (e *env) apiKeysNamed(conn, name string) int {
	e.t.Helper()
	keys, err := e.st.Datadog.ListAPIKeys(context.Background(), e.keysCreds)
	if err != nil {
		e.t.Fatal(err)
	}
	want := secretkind.Name{Kind: secretkind.APIKey, Connection: conn, Key: name}
	n := 0
	for _, k := range keys {
		if want.OwnsKey(e.scope(conn), k.Name) {
			n++
		}
	}
	return n
}

// secretExists reports whether a live secret of that name exists.
func (e *env) secretExists(name string) bool {
	sec, err := e.st.Store.Describe(context.Background(), name)
	if errors.Is(err, secretstore.ErrNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return sec.DeletedAt == nil
}

// output is every published event's detail and the logs: they must hold
// no key.
func (e *env) output() string {
	var all strings.Builder
	for _, ev := range e.st.Bus.Events() {
		all.Write(ev.Detail)
	}
	all.WriteString(e.logs.String())
	return all.String()
}

func mustSucceed(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
}
