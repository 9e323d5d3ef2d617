package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/logging"
)

// isolate clears what the machine's environment could tell the CLI (its
// profiles, AWS configuration and credentials) and points it at endpoint.
func isolate(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "DDCONN_") || name == "NO_COLOR" {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if endpoint != "" {
		t.Setenv("DDCONN_ENDPOINT", endpoint)
	}
}

// result is one run of the CLI.
type result struct {
	stdout, stderr string
	code           int
}

// transcript collects everything every run printed, for the key check.
type transcript struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (tr *transcript) add(s ...string) {
	if tr == nil {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, x := range s {
		tr.buf.WriteString(x)
		tr.buf.WriteByte('\n')
	}
}

// ddconn runs the CLI in process with stdin and returns what it printed.
func ddconn(t *testing.T, tr *transcript, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"--poll-interval", "50ms"}, args...),
		IO{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr})
	tr.add(stdout.String(), stderr.String())
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// must runs the CLI and fails the test unless it exits with want.
func must(t *testing.T, tr *transcript, want int, stdin string, args ...string) result {
	t.Helper()
	r := ddconn(t, tr, stdin, args...)
	if r.code != want {
		t.Fatalf("ddconn %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want,
			redact(r.stdout), redact(r.stderr))
	}
	return r
}

// redact keeps a failing test's log free of the demo keys.
func redact(s string) string {
	return strings.NewReplacer(ddsim.DemoAPIKey, "[api key]", ddsim.DemoAppKey, "[app key]").Replace(s)
}

func startStack(t *testing.T, logs io.Writer, mod func(*devstack.Options)) *devstack.Stack {
	t.Helper()
	opts := devstack.Options{
		SeedDemo:         true,
		RotationFunction: devstack.RotationFunction(devstack.SimulatorActivation),
		RetryInterval:    time.Hour, // a failed rotation stays failed while the test looks at it
		Logger:           logging.New(logs, slog.LevelDebug),
	}
	if mod != nil {
		mod(&opts)
	}
	st := devstack.StartTest(t, opts)
	return st
}

// mintAppKey creates an application key for the demo rotator at the
// simulator, as the rotation walkthrough does: a key that may replace
// itself without touching the demo key.
func mintAppKey(t *testing.T, st *devstack.Stack, scopes ...string) string {
	t.Helper()
	if scopes == nil {
		scopes = []string{"user_app_keys", "service_account_write", "user_access_read"}
	}
	b, _ := json.Marshal(scopes)
	body := `{"data":{"type":"application_keys","attributes":{"name":"cli-test","scopes":` + string(b) + `}}}`
	req, _ := http.NewRequest("POST", st.DatadogURL+"/api/v2/current_user/application_keys", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("DD-API-KEY", ddsim.DemoAPIKey)
	req.Header.Set("DD-APPLICATION-KEY", ddsim.DemoAppKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Attributes struct {
				Key string `json:"key"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Attributes.Key == "" {
		t.Fatalf("minting a key at the simulator: %d, %v", resp.StatusCode, err)
	}
	return out.Data.Attributes.Key
}

func credsJSON(api, app string) string {
	return `{"apiKey":"` + api + `","applicationKey":"` + app + `"}`
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, redact(s))
	}
	return v
}

// TestEveryCommand runs every command against an in-process dev stack,
// in table and JSON output, with the keys in the environment, in files
// and on stdin, and checks that no output, error or log line holds any
// piece of them.
func TestEveryCommand(t *testing.T) {
	var logs logcapture.Buffer
	st := startStack(t, &logs, nil)
	isolate(t, st.APIURL)
	tr := &transcript{}
	key := mintAppKey(t, st)
	apiKeysKey := mintAppKey(t, st, "user_app_keys", "api_keys_read", "api_keys_write", "api_keys_delete")
	t.Setenv("TEST_DD_API_KEY", ddsim.DemoAPIKey)
	t.Setenv("TEST_DD_APP_KEY", ddsim.DemoAppKey)
	t.Setenv("TEST_DD_ROTATING_KEY", key)
	keysFile := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keysFile, []byte(credsJSON(ddsim.DemoAPIKey, ddsim.DemoAppKey)), 0o600); err != nil {
		t.Fatal(err)
	}

	// Connections.
	r := must(t, tr, ExitOK, "", "connections", "create", "demo", "--url", "https://app.datadoghq.com",
		"--description", "Demo organisation", "--team", "platform", "--credentials-file", keysFile)
	if !strings.Contains(r.stdout, "https://api.datadoghq.com") || !strings.Contains(r.stdout, "ROTATION") ||
		!strings.Contains(r.stdout, "platform") {
		t.Errorf("create's table:\n%s", r.stdout)
	}
	must(t, tr, ExitOK, "", "connections", "create", "rot", "--url", "datadoghq.com",
		"--api-key-env", "TEST_DD_API_KEY", "--application-key-env", "TEST_DD_ROTATING_KEY", "-o", "json")
	must(t, tr, ExitRefused, "", "connections", "create", "demo", "--url", "datadoghq.com", "--credentials-file", keysFile)
	must(t, tr, ExitRefused, credsJSON(ddsim.DemoAPIKey, strings.Repeat("0", 40)),
		"connections", "create", "bad", "--url", "datadoghq.com", "--credentials-file", "-")
	must(t, tr, ExitUsage, "", "connections", "create", "nokeys", "--url", "datadoghq.com")
	must(t, tr, ExitUsage, `{"apiKey":"`+ddsim.DemoAPIKey+`"}`, "connections", "create", "half", "--url", "datadoghq.com", "--credentials-file", "-")
	must(t, tr, ExitUsage, ddsim.DemoAPIKey, "connections", "create", "notjson", "--url", "datadoghq.com", "--credentials-file", "-")

	list := decode[struct {
		Connections []struct {
			Name string `json:"name"`
		} `json:"connections"`
	}](t, must(t, tr, ExitOK, "", "connections", "list", "-o", "json").stdout)
	if len(list.Connections) != 2 || list.Connections[0].Name != "demo" || list.Connections[1].Name != "rot" {
		t.Errorf("connections list -o json: %+v", list)
	}
	if r := must(t, tr, ExitOK, "", "connections", "list"); !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "rot") {
		t.Errorf("connections list:\n%s", r.stdout)
	}
	must(t, tr, ExitOK, "", "connections", "get", "demo")
	got := decode[connection](t, must(t, tr, ExitOK, "", "connections", "get", "demo", "-o", "json").stdout)
	if got.Description != "Demo organisation" || got.Site != "US1" || got.Team != "platform" {
		t.Errorf("connections get -o json: %+v", got)
	}
	r = must(t, tr, ExitNotFound, "", "connections", "get", "nope")
	if !strings.Contains(r.stderr, "ddconn connections list") {
		t.Errorf("a 404 says what to do next:\n%s", r.stderr)
	}
	must(t, tr, ExitOK, "", "connections", "update", "demo", "--description", "Demo (platform team)")
	must(t, tr, ExitOK, "", "connections", "update", "demo", "--allowed-service-account", ddsim.DemoRotatorID)
	must(t, tr, ExitOK, "", "connections", "update", "demo", "--no-allowed-service-accounts")
	must(t, tr, ExitOK, credsJSON(ddsim.DemoAPIKey, ddsim.DemoAppKey), "connections", "update", "demo", "--credentials-file", "-")
	must(t, tr, ExitUsage, "", "connections", "update", "demo")
	must(t, tr, ExitOK, "", "connections", "validate", "demo")
	must(t, tr, ExitOK, "", "connections", "validate", "--url", "datadoghq.com", "--credentials-file", keysFile, "-o", "json")
	r = must(t, tr, ExitFailed, credsJSON(ddsim.DemoAPIKey, strings.Repeat("0", 40)),
		"connections", "validate", "--url", "datadoghq.com", "--credentials-file", "-")
	if !strings.Contains(r.stdout, "applicationKey") {
		t.Errorf("validate's table names the failing check:\n%s", r.stdout)
	}
	if r := must(t, tr, ExitOK, "", "connections", "service-accounts", "demo"); !strings.Contains(r.stdout, ddsim.DemoMetricsWriterID) {
		t.Errorf("service-accounts:\n%s", r.stdout)
	}
	must(t, tr, ExitOK, "", "connections", "service-accounts", "demo", "-o", "json")

	// Rotation: on, a real rotation followed with --wait, a failing one, off.
	must(t, tr, ExitRefused, "", "rotate", "rot")
	must(t, tr, ExitOK, "", "rotation", "enable", "rot", "--schedule", "rate(30 days)", "--window", "2h", "--rotate-immediately=false")
	// At once, while the test run of --rotate-immediately=false may still be going on.
	before := decode[rotationBlock](t, must(t, tr, ExitOK, "", "rotation", "show", "rot", "-o", "json").stdout)
	r = must(t, tr, ExitOK, "", "rotate", "rot", "--wait")
	if !strings.Contains(r.stdout, "succeeded") || !strings.Contains(r.stdout, "PREVIOUS KEY ID  "+before.CurrentKeyID) ||
		!strings.Contains(r.stdout, "until the next rotation") || !strings.Contains(r.stderr, "rotating rot") {
		t.Errorf("rotate --wait:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	res := decode[rotationResult](t, must(t, tr, ExitOK, "", "rotate", "rot", "--wait", "-o", "json").stdout)
	if !res.Succeeded || res.NewKeyID == "" || res.NewKeyID == res.PreviousKeyID || res.VersionID == "" {
		t.Errorf("rotate --wait -o json: %+v", res)
	}
	must(t, tr, ExitOK, "", "rotation", "update", "rot", "--schedule", "rate(30 days)", "--revoke-previous", "after:24h",
		"--rotate-immediately=false")
	res = decode[rotationResult](t, must(t, tr, ExitOK, "", "rotate", "rot", "--wait", "-o", "json").stdout)
	if res.RevokeAt == nil || !strings.Contains(res.PreviousKey, "sweeper") {
		t.Errorf("rotate --wait with after:24h says when the sweeper revokes the previous key: %+v", res)
	}
	// The previous key lives for 24 h more: roll back to it.
	back := decode[connection](t, must(t, tr, ExitOK, "", "rotation", "rollback", "rot", "-o", "json").stdout)
	if back.Rotation.CurrentKeyID != res.PreviousKeyID {
		t.Errorf("rotation rollback: current key %q, want the previous %q", back.Rotation.CurrentKeyID, res.PreviousKeyID)
	}
	must(t, tr, ExitUsage, "", "rotation", "rollback")
	must(t, tr, ExitOK, "", "rotation", "show", "rot")
	block := decode[map[string]any](t, must(t, tr, ExitOK, "", "rotation", "show", "rot", "-o", "json").stdout)
	if _, ok := block["lastWarning"]; ok || block["enabled"] != true {
		t.Errorf("rotation show -o json prints the API's rotation block as it came: %v", block)
	}

	st.Simulator.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Status: 500, Count: 1})
	r = must(t, tr, ExitFailed, "", "rotate", "rot", "--wait")
	if !strings.Contains(r.stdout, "createSecret") || !strings.Contains(r.stderr, "ddconn rotation disable rot") ||
		!strings.Contains(r.stderr, "ddconn rotate rot --wait") {
		t.Errorf("a failed rotate --wait prints lastError and what to do next:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if r := must(t, tr, ExitOK, "", "status"); !strings.Contains(r.stdout, "running") || !strings.Contains(r.stdout, "createSecret") {
		t.Errorf("status shows the failing rotation:\n%s", r.stdout)
	}
	must(t, tr, ExitRefused, "", "rotation", "enable", "rot", "--schedule", "rate(30 days)")
	must(t, tr, ExitOK, "", "rotation", "disable", "rot", "-o", "json")
	must(t, tr, ExitRefused, "", "rotate", "rot", "-o", "json")

	// Managed keys.
	r = must(t, tr, ExitOK, "", "keys", "create", "demo", "metrics-writer", "--service-account", ddsim.DemoMetricsWriterID,
		"--scope", "metrics_read", "--include-api-key")
	if !strings.Contains(r.stdout, "keys/demo/metrics-writer") {
		t.Errorf("keys create:\n%s", r.stdout)
	}
	must(t, tr, ExitRefused, "", "keys", "create", "demo", "wide", "--service-account", ddsim.DemoMetricsWriterID)
	must(t, tr, ExitOK, "", "keys", "list", "demo")
	keys := decode[managedKeyList](t, must(t, tr, ExitOK, "", "keys", "list", "demo", "-o", "json").stdout)
	if len(keys.ApplicationKeys) != 1 || keys.ApplicationKeys[0].Name != "metrics-writer" {
		t.Errorf("keys list -o json: %+v", keys)
	}
	must(t, tr, ExitOK, "", "keys", "get", "demo", "metrics-writer", "-o", "json")
	// Readers in other accounts: on create, shown by get, changed by update.
	r = must(t, tr, ExitOK, "", "keys", "create", "demo", "shared", "--service-account", ddsim.DemoMetricsWriterID,
		"--scope", "metrics_read", "--reader", "arn:aws:iam::222222222222:role/checkout", "--reader", "333333333333")
	if !strings.Contains(r.stdout, "333333333333, arn:aws:iam::222222222222:role/checkout") {
		t.Errorf("keys create --reader shows the readers:\n%s", r.stdout)
	}
	if r := must(t, tr, ExitOK, "", "keys", "get", "demo", "shared"); !strings.Contains(r.stdout, "READERS") ||
		!strings.Contains(r.stdout, "arn:aws:iam::222222222222:role/checkout") {
		t.Errorf("keys get shows the readers:\n%s", r.stdout)
	}
	updated := decode[managedKey](t, must(t, tr, ExitOK, "", "keys", "update", "demo", "shared", "--reader", "444444444444", "-o", "json").stdout)
	if !slices.Equal(updated.Readers, []string{"444444444444"}) {
		t.Errorf("keys update --reader: readers %v", updated.Readers)
	}
	cleared := decode[managedKey](t, must(t, tr, ExitOK, "", "keys", "update", "demo", "shared", "--no-readers", "-o", "json").stdout)
	if cleared.Readers == nil || len(cleared.Readers) != 0 {
		t.Errorf("keys update --no-readers: readers %v", cleared.Readers)
	}
	must(t, tr, ExitUsage, "", "keys", "update", "demo", "shared")
	must(t, tr, ExitUsage, "", "keys", "update", "demo", "shared", "--reader", "444444444444", "--no-readers")
	must(t, tr, ExitRefused, "", "keys", "create", "demo", "bad-reader", "--service-account", ddsim.DemoMetricsWriterID,
		"--scope", "metrics_read", "--reader", "not-an-arn")
	must(t, tr, ExitOK, "", "keys", "delete", "demo", "shared")
	// Nothing to roll back to before its first rotation: 409, not 404.
	must(t, tr, ExitRefused, "", "keys", "rollback", "demo", "metrics-writer")
	must(t, tr, ExitRefused, "", "api-keys", "create", "demo", "agent", "--schedule", "rate(7 days)")
	must(t, tr, ExitOK, "", "api-keys", "list", "demo")
	must(t, tr, ExitNotFound, "", "api-keys", "get", "demo", "agent")
	must(t, tr, ExitNotFound, "", "api-keys", "delete", "demo", "agent")
	must(t, tr, ExitOK, credsJSON(ddsim.DemoAPIKey, apiKeysKey), "connections", "create", "apik", "--url", "datadoghq.com", "--credentials-file", "-")
	r = must(t, tr, ExitOK, "", "api-keys", "create", "apik", "agent", "--schedule", "rate(7 days)", "--reader", "222222222222")
	if !strings.Contains(r.stdout, "api-keys/apik/agent") || !strings.Contains(r.stdout, "managed API key") {
		t.Errorf("api-keys create:\n%s", r.stdout)
	}
	apiKeyList := decode[managedKeyList](t, must(t, tr, ExitOK, "", "api-keys", "list", "apik", "-o", "json").stdout)
	if len(apiKeyList.APIKeys) != 1 || apiKeyList.APIKeys[0].APIKeyID == "" {
		t.Errorf("api-keys list -o json: %+v", apiKeyList)
	}
	if r := must(t, tr, ExitOK, "", "api-keys", "get", "apik", "agent"); !strings.Contains(r.stdout, "222222222222") {
		t.Errorf("api-keys get shows the readers:\n%s", r.stdout)
	}
	must(t, tr, ExitOK, "", "api-keys", "update", "apik", "agent", "--no-readers")
	must(t, tr, ExitRefused, "", "api-keys", "rollback", "apik", "agent")
	must(t, tr, ExitOK, "", "api-keys", "delete", "apik", "agent", "-o", "json")
	must(t, tr, ExitOK, "", "connections", "delete", "apik", "--force", "--keep-keys")
	if r := must(t, tr, ExitOK, "", "status", "-o", "json"); !strings.Contains(r.stdout, `"managedKeys": 1`) {
		t.Errorf("status -o json counts the managed key:\n%s", r.stdout)
	}
	must(t, tr, ExitRefused, "", "connections", "delete", "demo", "--force")
	must(t, tr, ExitOK, "", "keys", "delete", "demo", "metrics-writer")

	// A provisioning request through EventBridge's PutEvents.
	r = must(t, tr, ExitOK, "", "events", "put", "provision-application-key", "--events-endpoint", st.SecretsManagerURL,
		"--detail", `{"connection":"demo","name":"billing","serviceAccountId":"`+ddsim.DemoMetricsWriterID+`","scopes":["metrics_read"]}`)
	id := strings.TrimSpace(r.stdout)
	waitForOutcome(t, st, id, "Application Key Provisioned")
	put := decode[map[string]string](t, must(t, tr, ExitOK, `{"connection":"demo","kind":"application-key","name":"billing"}`,
		"events", "put", "Delete Managed Key", "--events-endpoint", st.SecretsManagerURL, "--detail-file", "-", "-o", "json").stdout)
	waitForOutcome(t, st, put["eventId"], "Managed Key Deleted")
	must(t, tr, ExitUsage, "", "events", "put", "create-connection", "--events-endpoint", st.SecretsManagerURL,
		"--detail", `{"name":"x","credentials":{"apiKey":"`+ddsim.DemoAPIKey+`"}}`)
	must(t, tr, ExitUsage, "", "events", "put", "Rotate Everything", "--detail", `{}`)

	// Deletion, with and without the recovery window.
	if r := must(t, tr, ExitOK, "", "connections", "delete", "demo"); !strings.Contains(r.stdout, "recovery window 7 days") {
		t.Errorf("connections delete:\n%s", r.stdout)
	}
	must(t, tr, ExitOK, "", "connections", "delete", "demo", "--force")
	must(t, tr, ExitOK, "", "connections", "delete", "rot", "--force", "-o", "json")
	if r := must(t, tr, ExitOK, "", "status"); !strings.Contains(r.stdout, "no connections") {
		t.Errorf("status with no connections:\n%s", r.stdout)
	}

	// Usage errors.
	must(t, tr, ExitUsage, "", "connections", "get")
	must(t, tr, ExitUsage, "", "rotate", "a", "b")
	must(t, tr, ExitUsage, "", "status", "--bogus")
	must(t, tr, ExitUsage, "", "nonsense")
	must(t, tr, ExitUsage, "", "connections", "nonsense")
	must(t, tr, ExitOK, "", "connections")
	must(t, tr, ExitUsage, "", "status", "-o", "yaml")
	must(t, tr, ExitOK, "", "completion", "bash")
	must(t, tr, ExitOK, "", "--help")

	if strings.Contains(tr.buf.String(), "\x1b[") {
		t.Error("output that is not a terminal has colour codes")
	}
	keysUsed := []string{ddsim.DemoAPIKey, ddsim.DemoAppKey, key, apiKeysKey}
	testkit.AssertNoKeyMaterial(t, tr.buf.String(), keysUsed...)
	testkit.AssertNoKeyMaterial(t, logs.String(), keysUsed...)
}

// waitForOutcome polls the dev stack's event log for an outcome of the
// request with event id id.
func waitForOutcome(t *testing.T, st *devstack.Stack, id, detailType string) {
	t.Helper()
	for range 100 {
		resp, err := http.Get(st.APIURL + devstack.DevEventsPath + "?requestId=" + id)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Outcomes []struct {
				DetailType string `json:"detail-type"`
			} `json:"outcomes"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Outcomes {
			if o.DetailType == detailType {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q outcome for event %s", detailType, id)
}

// TestRotateWaitFollowsTheSteps: rotate --wait shows the rotation's steps
// as the API reports them, in Secrets Manager's order. Datadog answers
// slowly, so the steps that call it last long enough to be seen.
func TestRotateWaitFollowsTheSteps(t *testing.T) {
	st := startStack(t, io.Discard, nil)
	isolate(t, st.APIURL)
	t.Setenv("TEST_DD_API_KEY", ddsim.DemoAPIKey)
	t.Setenv("TEST_DD_ROTATING_KEY", mintAppKey(t, st))
	must(t, nil, ExitOK, "", "connections", "create", "steps", "--url", "datadoghq.com",
		"--api-key-env", "TEST_DD_API_KEY", "--application-key-env", "TEST_DD_ROTATING_KEY")
	must(t, nil, ExitOK, "", "rotation", "enable", "steps", "--schedule", "rate(30 days)", "--rotate-immediately=false")
	must(t, nil, ExitOK, "", "rotate", "steps", "--wait") // the test run of --rotate-immediately=false is over
	st.Simulator.SetLatency(300 * time.Millisecond)
	r := must(t, nil, ExitOK, "", "rotate", "steps", "--wait")

	var seen []int
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		for i, s := range rotationSteps {
			if strings.HasPrefix(line, fmt.Sprintf("rotating steps: step %d/4 %s: ", i+1, s.name)) {
				seen = append(seen, i)
			}
		}
	}
	if !slices.IsSorted(seen) || !slices.Contains(seen, 0) || !slices.Contains(seen, 2) {
		t.Errorf("rotate --wait shows the steps in order, createSecret and testSecret among them; stderr:\n%s", r.stderr)
	}
}
