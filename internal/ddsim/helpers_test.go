package ddsim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// testClock is a manual clock; it starts on a 10 s boundary so rate-limit
// windows are predictable.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a simulator behind an httptest server with one org holding an
// admin (every catalogue permission, unscoped key), a service account
// "robot" with the permissions ddconn's rotator needs and an API key.
type fixture struct {
	t      *testing.T
	sim    *Simulator
	srv    *httptest.Server
	clock  *testClock
	client *datadog.APIClient

	orgID            string
	apiKey, apiKeyID string
	adminID          string
	adminKey         string
	robotID          string
	robotKey         string // unscoped
}

// robotPermissions are the service account's role permissions.
var robotPermissions = []string{"user_app_keys", "service_account_write", "user_access_read", "api_keys_read", "api_keys_write", "api_keys_delete", "metrics_read"}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	return newWrappedFixture(t, opts, nil)
}

// newWrappedFixture is newFixture with the simulator served through wrap,
// when wrap is not nil.
func newWrappedFixture(t *testing.T, opts Options, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: newTestClock()}
	if opts.Now == nil {
		opts.Now = f.clock.Now
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.sim = sim
	f.orgID = sim.CreateOrg("Acme")
	f.apiKey, f.apiKeyID = sim.AddAPIKey(f.orgID, "acme-main")
	f.adminID = sim.AddUser(f.orgID, UserSpec{Name: "Ada Admin", Email: "ada@acme.example", Permissions: allPermissionNames(), Role: "Datadog Admin Role"})
	f.adminKey, _ = sim.AddAppKey(f.adminID, "ada-key", nil)
	f.robotID = sim.AddUser(f.orgID, UserSpec{Name: "robot", Email: "robot@acme.example", ServiceAccount: true, Permissions: robotPermissions})
	f.robotKey, _ = sim.AddAppKey(f.robotID, "robot-key", nil)
	var handler http.Handler = sim
	if wrap != nil {
		handler = wrap(sim)
	}
	f.srv = httptest.NewServer(handler)
	t.Cleanup(f.srv.Close)
	f.client = newClient()
	return f
}

func newClient() *datadog.APIClient {
	cfg := datadog.NewConfiguration()
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	cfg.SetUnstableOperationEnabled("v2.Validate", true)
	return datadog.NewAPIClient(cfg)
}

// ctx addresses the simulator through the client's own server override and
// carries the given keys; an empty key is left out, so its header is not sent.
func (f *fixture) ctx(apiKey, appKey string) context.Context {
	return clientContext(f.srv.URL, apiKey, appKey)
}

func clientContext(serverURL, apiKey, appKey string) context.Context {
	ctx := context.WithValue(context.Background(), datadog.ContextServerIndex, 1)
	ctx = context.WithValue(ctx, datadog.ContextServerVariables, map[string]string{
		"protocol": "http",
		"name":     strings.TrimPrefix(serverURL, "http://"),
	})
	keys := map[string]datadog.APIKey{}
	if apiKey != "" {
		keys["apiKeyAuth"] = datadog.APIKey{Key: apiKey}
	}
	if appKey != "" {
		keys["appKeyAuth"] = datadog.APIKey{Key: appKey}
	}
	return context.WithValue(ctx, datadog.ContextAPIKeys, keys)
}

// as is shorthand for the fixture's API key plus appKey.
func (f *fixture) as(appKey string) context.Context {
	return f.ctx(f.apiKey, appKey)
}

func (f *fixture) keys() *datadogV2.KeyManagementApi { return datadogV2.NewKeyManagementApi(f.client) }
func (f *fixture) serviceAccounts() *datadogV2.ServiceAccountsApi {
	return datadogV2.NewServiceAccountsApi(f.client)
}
func (f *fixture) users() *datadogV2.UsersApi { return datadogV2.NewUsersApi(f.client) }
func (f *fixture) roles() *datadogV2.RolesApi { return datadogV2.NewRolesApi(f.client) }
func (f *fixture) auth() *datadogV1.AuthenticationApi {
	return datadogV1.NewAuthenticationApi(f.client)
}

// statusOf returns the HTTP status of a client call, failing the test when
// the call never reached the server.
func statusOf(t *testing.T, resp *http.Response, err error) int {
	t.Helper()
	if resp == nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	return resp.StatusCode
}

// errorsOf returns the errors list of an APIErrorResponse body.
func errorsOf(err error) []string {
	var oe datadog.GenericOpenAPIError
	if !errors.As(err, &oe) {
		return nil
	}
	if m, ok := oe.Model().(datadogV2.APIErrorResponse); ok {
		return m.Errors
	}
	if m, ok := oe.Model().(datadogV1.APIErrorResponse); ok {
		return m.Errors
	}
	return nil
}

// createKeyBody builds an application-key create request; nil scopes leave
// the field out (an unscoped key).
func createKeyBody(name string, scopes []string) datadogV2.ApplicationKeyCreateRequest {
	attrs := datadogV2.ApplicationKeyCreateAttributes{Name: name}
	if scopes != nil {
		attrs.Scopes = *datadog.NewNullableList(&scopes)
	}
	return datadogV2.ApplicationKeyCreateRequest{Data: datadogV2.ApplicationKeyCreateData{
		Type:       datadogV2.APPLICATIONKEYSTYPE_APPLICATION_KEYS,
		Attributes: attrs,
	}}
}

// mustCreateKey creates a current-user key for appKey's owner.
func (f *fixture) mustCreateKey(appKey, name string, scopes []string) (secret, id string) {
	f.t.Helper()
	res, resp, err := f.keys().CreateCurrentUserApplicationKey(f.as(appKey), createKeyBody(name, scopes))
	if got := statusOf(f.t, resp, err); got != http.StatusCreated {
		f.t.Fatalf("creating key %q: status %d, errors %v", name, got, errorsOf(err))
	}
	return res.Data.Attributes.GetKey(), res.Data.GetId()
}

// raw sends a request with headers set exactly as given (no canonicalisation)
// and returns the response and its body.
func (f *fixture) raw(method, path string, headers map[string]string, body string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal("building request failed")
	}
	for name, value := range headers {
		req.Header[name] = []string{value}
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, req.URL.Path, err) // the query may hold keys
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("reading %s %s: %v", method, req.URL.Path, err)
	}
	return resp, data
}

// readFixture returns a file from testdata.
func readFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return string(data)
}

// readAll returns a response body that the client has not consumed; the Go
// client re-buffers bodies, so this works after a call returned.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP response")
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(data)
}
