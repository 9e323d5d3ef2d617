package devstack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func start(t *testing.T, opts devstack.Options) *devstack.Stack {
	t.Helper()
	st, err := devstack.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

const demoCreds = `{"url":"https://api.datadoghq.com","apiKey":"` + ddsim.DemoAPIKey + `","applicationKey":"` + ddsim.DemoAppKey + `"}`

// TestDemoWalkthrough follows the README's walkthrough against the demo
// organisation: create, get, list, validate, service accounts, patch, delete.
func TestDemoWalkthrough(t *testing.T) {
	st := start(t, devstack.Options{SeedDemo: true})
	t.Cleanup(func() { _ = st.Close() })
	api := st.APIURL
	steps := []struct {
		method, path, body string
		status             int
		check              func(map[string]any) bool
	}{
		{"POST", "/connections", `{"name":"demo","description":"Demo organisation","credentials":` + demoCreds + `}`, 201,
			func(m map[string]any) bool {
				return m["ownerId"] == ddsim.DemoRotatorID && m["applicationKeyId"] == ddsim.DemoAppKeyID
			}},
		{"GET", "/connections/demo", "", 200, func(m map[string]any) bool { return m["site"] == "US1" }},
		{"GET", "/connections", "", 200, func(m map[string]any) bool { return len(m["connections"].([]any)) == 1 }},
		{"POST", "/connections/validate", `{"credentials":` + demoCreds + `}`, 200, func(m map[string]any) bool { return m["valid"] == true }},
		{"POST", "/connections/demo/validate", "", 200, func(m map[string]any) bool { return m["valid"] == true }},
		{"GET", "/connections/demo/service-accounts", "", 200, func(m map[string]any) bool { return len(m["serviceAccounts"].([]any)) == 2 }},
		{"PATCH", "/connections/demo", `{"description":"Demo organisation (renamed team)"}`, 200,
			func(m map[string]any) bool { return m["description"] == "Demo organisation (renamed team)" }},
		{"DELETE", "/connections/demo", "", 200, func(m map[string]any) bool { return m["recoveryWindowDays"] == 7.0 }},
		{"DELETE", "/connections/demo?force=true", "", 200, func(m map[string]any) bool { return m["recoveryWindowDays"] == 0.0 }},
	}
	for _, s := range steps {
		status, body := call(t, s.method, api+s.path, s.body)
		if status != s.status || !s.check(body) {
			t.Fatalf("%s %s: %d %v", s.method, s.path, status, body)
		}
	}
}

func TestDataDirPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	st := start(t, devstack.Options{SeedDemo: true, DataDir: dir})
	status, _ := call(t, "POST", st.APIURL+"/connections", `{"name":"kept","credentials":`+demoCreds+`}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d", status)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = start(t, devstack.Options{SeedDemo: true, DataDir: dir})
	t.Cleanup(func() { _ = st.Close() })
	if status, body := call(t, "GET", st.APIURL+"/connections/kept", ""); status != http.StatusOK || body["valid"] != true {
		t.Fatalf("after restart: %d %v", status, body)
	}
	// The demo keys still authenticate (seeding is idempotent).
	if !st.Simulator.Authenticates(ddsim.DemoAPIKey, ddsim.DemoAppKey) {
		t.Fatal("demo keys lost across restart")
	}
}

// TestRotationFunctionHook checks that a rotation function plugged in
// through Options gets the adapters and is invoked by the emulator.
func TestRotationFunctionHook(t *testing.T) {
	var calls atomic.Int32
	var gotDeps devstack.Deps
	st := start(t, devstack.Options{
		RotationFunction: func(d devstack.Deps) (smemu.Invoker, error) {
			gotDeps = d
			return smemu.InvokerFunc(func(ctx context.Context, arn string, payload []byte) error {
				calls.Add(1)
				return nil // does nothing: the attempt fails at finishSecret, which is fine here
			}), nil
		},
	})
	t.Cleanup(func() { _ = st.Close() })
	if gotDeps.Store == nil || gotDeps.Datadog == nil || gotDeps.SecretPrefix != "ddconn/connections/" {
		t.Fatalf("deps = %+v", gotDeps)
	}
	ctx := context.Background()
	sec, err := st.Store.Create(ctx, secretstore.CreateInput{Name: "ddconn/connections/r", Value: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Rotate(ctx, sec.ARN, secretstore.RotateInput{LambdaARN: st.RotationFunctionARN}); err != nil {
		t.Fatalf("RotateSecret with the hooked function: %v", err)
	}
	for i := 0; calls.Load() == 0 && i < 200; i++ {
		waitABit()
	}
	if calls.Load() == 0 {
		t.Fatal("the emulator never invoked the rotation function")
	}
}

func waitABit() { time.Sleep(10 * time.Millisecond) }

// TestRotationWired runs the real rotate function in-process, as `make dev`
// does: a connection rotates through the API, its new key works at the
// simulator, and the sweeper runs on its timer.
func TestRotationWired(t *testing.T) {
	var logs logcapture.Buffer
	st := start(t, devstack.Options{
		SeedDemo:         true,
		RotationFunction: devstack.RotationFunction(devstack.SimulatorActivation),
		SweepInterval:    10 * time.Millisecond,
		RetryInterval:    10 * time.Millisecond,
		Logger:           slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	t.Cleanup(func() { _ = st.Close() })
	// A fresh key for the demo rotator, so the demo key is never rotated away.
	appKey, _ := st.Simulator.AddAppKey(ddsim.DemoRotatorID, "walkthrough", []string{"user_app_keys"})
	creds := `{"url":"https://api.datadoghq.com","apiKey":"` + ddsim.DemoAPIKey + `","applicationKey":"` + appKey + `"}`
	if status, body := call(t, "POST", st.APIURL+"/connections", `{"name":"rot","credentials":`+creds+`}`); status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	if status, body := call(t, "PUT", st.APIURL+"/connections/rot/rotation", `{"schedule":"rate(30 days)","rotateImmediately":false}`); status != http.StatusOK {
		t.Fatalf("PUT rotation: %d %v", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// rotateImmediately=false still tests the function once; wait for it.
	if err := st.Emulator.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if status, body := call(t, "POST", st.APIURL+"/connections/rot/rotate", ""); status != http.StatusAccepted {
		t.Fatalf("POST rotate: %d %v", status, body)
	}
	if err := st.Emulator.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := st.Store.Get(ctx, "ddconn/connections/rot", "", secretstore.Current)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Key == appKey || !st.Simulator.Authenticates(ddsim.DemoAPIKey, doc.Key) {
		t.Fatal("AWSCURRENT does not hold a new, working application key")
	}
	// The rotation is announced on the bus as Key Rotated, ids only.
	rotated := st.Bus.EventsOf("ddconn", "Key Rotated")
	if len(rotated) != 1 || !strings.Contains(string(rotated[0].Detail), `"keyId":"`+doc.KeyID+`"`) ||
		!strings.Contains(string(rotated[0].Detail), `"connection":"rot"`) {
		t.Fatalf("Key Rotated events %v, want one for the new key %s", rotated, doc.KeyID)
	}
	testkit.AssertNoKeyMaterial(t, string(rotated[0].Detail), appKey, doc.Key, ddsim.DemoAPIKey)
	// A failing rotation is reported on the bus as Rotation Failed.
	st.Simulator.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/", Status: 500, Count: 1000})
	if status, body := call(t, "POST", st.APIURL+"/connections/rot/rotate", ""); status != http.StatusAccepted {
		t.Fatalf("POST rotate: %d %v", status, body)
	}
	for i := 0; len(st.Bus.EventsOf("ddconn", "Rotation Failed")) == 0 && i < 200; i++ {
		waitABit()
	}
	failed := st.Bus.EventsOf("ddconn", "Rotation Failed")
	if len(failed) == 0 || !strings.Contains(string(failed[0].Detail), `"step":"createSecret"`) {
		t.Fatalf("Rotation Failed events %v, want one for createSecret", failed)
	}
	st.Simulator.ClearFaults()
	// The sweep runs as on AWS: the schedule fans it out as one Sweep Page
	// event per page on the bus, and the rule hands each to the sweeper.
	for i := 0; !strings.Contains(logs.String(), `"msg":"sweep page finished"`) && i < 200; i++ {
		waitABit()
	}
	if !strings.Contains(logs.String(), `"msg":"sweep page finished"`) {
		t.Fatal("the sweeper never ran a page")
	}
	if pages := st.Bus.EventsOf("ddconn", "Sweep Page"); len(pages) == 0 || !strings.Contains(string(pages[0].Detail), `"cursor":""`) {
		t.Fatalf("Sweep Page events %v, want the first page's", pages)
	}
}

// TestDevEvents drives /_dev/events over HTTP: a request delivered as
// EventBridge would reaches the create function's processor through the
// rule, and what ddconn publishes comes back in the answer and the list.
func TestDevEvents(t *testing.T) {
	st := start(t, devstack.Options{SeedDemo: true})
	t.Cleanup(func() { _ = st.Close() })
	if status, _ := call(t, "POST", st.APIURL+"/connections", `{"name":"demo","credentials":`+demoCreds+`}`); status != 201 {
		t.Fatalf("creating the demo connection: %d", status)
	}
	provision := `{"source":"ddconn.requests","detail-type":"Provision Application Key","detail":{"connection":"demo",
		"name":"checkout","serviceAccountId":"` + ddsim.DemoMetricsWriterID + `","scopes":["metrics_read"]}}`
	tests := []struct {
		name, body   string
		status       int
		wantOutcomes []string
	}{
		{"provisioning request", provision, 200, []string{"Application Key Provisioned"}},
		{"refused request", strings.Replace(provision, `"metrics_read"`, ``, 1), 200, []string{"Provisioning Failed"}},
		{"event no rule matches", `{"source":"acme.orders","detail-type":"Order Placed","detail":{}}`, 200, nil},
		{"not an event", `{"detail":{}}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, "POST", st.APIURL+devstack.DevEventsPath, tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, body, tt.status)
			}
			if status != 200 {
				if body["error"] == nil {
					t.Fatalf("answer %v has no error", body)
				}
				return
			}
			var got []string
			for _, o := range body["outcomes"].([]any) {
				ev := o.(map[string]any)
				if ev["source"] != "ddconn" || ev["detail"].(map[string]any)["requestId"] != body["id"] {
					t.Fatalf("outcome %v is not ddconn's answer to %v", ev, body["id"])
				}
				got = append(got, ev["detail-type"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.wantOutcomes, ",") {
				t.Fatalf("outcomes %v, want %v", got, tt.wantOutcomes)
			}
		})
	}
	_, all := call(t, "GET", st.APIURL+devstack.DevEventsPath, "")
	if n := len(all["outcomes"].([]any)); n != 2 {
		t.Fatalf("GET lists %d outcomes, want the 2 published", n)
	}
	_, none := call(t, "GET", st.APIURL+devstack.DevEventsPath+"?requestId=nope", "")
	if n := len(none["outcomes"].([]any)); n != 0 {
		t.Fatalf("GET ?requestId=nope lists %d outcomes", n)
	}
}

// TestDevEventsTeamBus sends requests through team buses: team-a's bus
// carries out a request about team-a's connection from an account the
// policy maps to no team; team-b's bus is refused; a bus that does not
// exist is a bad request.
func TestDevEventsTeamBus(t *testing.T) {
	policy, err := access.ParsePolicy([]byte(`{"administrators": {"groups": ["platform"]}, "teams": {
		"team-a": {"groups": ["team-a"], "buses": ["team-a-requests"]},
		"team-b": {"groups": ["team-b"], "buses": ["team-b-requests"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	st := start(t, devstack.Options{SeedDemo: true, AccessPolicy: policy})
	t.Cleanup(func() { _ = st.Close() })
	if status, _ := call(t, "POST", st.APIURL+"/connections", `{"name":"demo","team":"team-a","credentials":`+demoCreds+`}`); status != 201 {
		t.Fatalf("creating the demo connection: %d", status)
	}
	provision := func(bus, name string) string {
		return `{"bus":"` + bus + `","account":"444444444444","source":"ddconn.requests","detail-type":"Provision Application Key",
			"detail":{"connection":"demo","name":"` + name + `","serviceAccountId":"` + ddsim.DemoMetricsWriterID + `","scopes":["metrics_read"]}}`
	}
	for _, tt := range []struct {
		name, body, want string
		status           int
	}{
		{"team-a's bus", provision("team-a-requests", "checkout"), "Application Key Provisioned", 200},
		{"team-b's bus", provision("team-b-requests", "other"), "Provisioning Failed", 200},
		{"the stack's bus, from an unmapped account", strings.Replace(provision("team-a-requests", "third"), `"bus":"team-a-requests",`, "", 1), "Provisioning Failed", 200},
		{"a bus that does not exist", provision("nobody", "x"), "", 400},
	} {
		status, body := call(t, "POST", st.APIURL+devstack.DevEventsPath, tt.body)
		if status != tt.status {
			t.Fatalf("%s: status %d (%v), want %d", tt.name, status, body, tt.status)
		}
		if status != 200 {
			continue
		}
		outcomes := body["outcomes"].([]any)
		if len(outcomes) != 1 || outcomes[0].(map[string]any)["detail-type"] != tt.want {
			t.Errorf("%s: outcomes %v, want %s", tt.name, outcomes, tt.want)
		}
	}
}
