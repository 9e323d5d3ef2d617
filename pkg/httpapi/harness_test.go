package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotation"
)

// env is a running dev stack with one simulated organisation.
type env struct {
	*devstack.Stack
	logs   *logcapture.Buffer
	t      testing.TB
	client *http.Client

	orgID  string
	apiKey string
	// Owners and their application keys.
	rotatorID  string // service account with every permission ddconn uses
	rotatorKey string // scoped to exactly those permissions
	limitedID  string // human user with metrics_read only
	limitedKey string // scoped to metrics_read: may not list its own keys
	adminID    string // human user, unscoped key
	adminKey   string
}

// fullScopes are the permissions behind both capabilities.
var fullScopes = []string{"user_app_keys", "service_account_write", "user_access_read"}

type envOption func(*devstack.Options)

func withDatadogRetry(r datadog.Retry) envOption {
	return func(o *devstack.Options) { o.DatadogRetry = r }
}

// withRotation runs the rotate function in-process, with an activation
// wait for the simulator (whose keys work at once).
func withRotation() envOption {
	return func(o *devstack.Options) {
		o.RotationFunction = devstack.RotationFunction(rotation.Activation{
			Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond, Timeout: 2 * time.Second})
	}
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	logs := &logcapture.Buffer{}
	o := devstack.Options{
		// A plain JSON handler, not pkg/logging's redacting one, so the
		// leak test proves the code never logs keys in the first place.
		Logger:                    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SecretsManagerMaxAttempts: 2,
		SecretsManagerMaxBackoff:  5 * time.Millisecond,
		RetryInterval:             10 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&o)
	}
	st := devstack.StartTest(t, o)
	e := &env{Stack: st, logs: logs, t: t, client: &http.Client{Transport: &http.Transport{}}}
	// Runs before the stack's Close (cleanups run last-in first-out).
	t.Cleanup(e.client.CloseIdleConnections)
	sim := st.Simulator
	e.orgID = sim.CreateOrg("acme")
	e.apiKey, _ = sim.AddAPIKey(e.orgID, "ddconn")
	e.rotatorID = sim.AddUser(e.orgID, ddsim.UserSpec{Name: "rotator", ServiceAccount: true, Permissions: fullScopes})
	e.rotatorKey, _ = sim.AddAppKey(e.rotatorID, "rotator-key", fullScopes)
	e.limitedID = sim.AddUser(e.orgID, ddsim.UserSpec{Name: "Lim", Email: "lim@example.com", Permissions: []string{"metrics_read"}})
	e.limitedKey, _ = sim.AddAppKey(e.limitedID, "limited-key", []string{"metrics_read"})
	e.adminID = sim.AddUser(e.orgID, ddsim.UserSpec{Name: "Ada", Email: "ada@example.com",
		Permissions: append([]string{"metrics_read"}, fullScopes...)})
	e.adminKey, _ = sim.AddAppKey(e.adminID, "admin-key", nil)
	return e
}

// secrets lists the key material a test must never see in output.
func (e *env) secrets() []string {
	return []string{e.apiKey, e.rotatorKey, e.limitedKey, e.adminKey}
}

// createBody is a create request for name with the given application key.
func createBody(name, url, apiKey, appKey string) string {
	b, _ := json.Marshal(map[string]any{
		"name": name, "description": "test " + name,
		"credentials": map[string]string{"url": url, "apiKey": apiKey, "applicationKey": appKey},
	})
	return string(b)
}

func (e *env) createBody(name, appKey string) string {
	return createBody(name, "https://api.us5.datadoghq.com", e.apiKey, appKey)
}

// response is one HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorEnvelope is the decoded error envelope.
type errorEnvelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
	RequestID string `json:"requestId"`
}

// do sends a request to the API; a non-empty body is sent as JSON.
func (e *env) do(method, path, body string) response {
	return e.doType(method, path, body, "application/json")
}

func (e *env) doType(method, path, body, contentType string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.APIURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" && contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// mustStatus fails unless r has status want.
func mustStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
}

// datadogRetryOnce retries a 429/5xx once (after the client's 2 s back-off).
var datadogRetryOnce = datadog.Retry{Enabled: true, MaxRetries: 1, Timeout: 10 * time.Second}
