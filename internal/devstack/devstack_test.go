package devstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/smemu"
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

// TestDemoWalkthrough follows docs/api.md's walkthrough against the demo
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
