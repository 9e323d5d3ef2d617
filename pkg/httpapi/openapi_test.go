package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/httpapi"
)

const specPath = "../../docs/openapi.yaml"

var spec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := spec()
	if err != nil {
		t.Fatalf("%s: %v", specPath, err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes checks both directions: every route of the table
// is documented (tagged with its function) and every documented operation is
// a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadSpec(t)
	documented := map[string]string{} // "METHOD /path" → tag
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if len(op.Tags) != 1 {
				t.Errorf("%s %s: want exactly one tag (the function)", method, path)
				continue
			}
			documented[method+" "+path] = op.Tags[0]
		}
	}
	for _, rt := range httpapi.Routes {
		fn, ok := documented[rt.Key()]
		switch {
		case !ok:
			t.Errorf("route %s is missing from %s", rt.Key(), specPath)
		case fn != rt.Function:
			t.Errorf("route %s is tagged %q in the spec, served by %q", rt.Key(), fn, rt.Function)
		}
		delete(documented, rt.Key())
	}
	for op := range documented {
		t.Errorf("%s documents %s, which httpapi.Routes does not serve", specPath, op)
	}
}

// specChecker is an http.RoundTripper that validates traffic against the
// spec: every response, and every request that the API accepted (2xx).
type specChecker struct {
	router routers.Router
	next   http.RoundTripper
	mu     sync.Mutex
	errs   []string
	seen   map[string]bool // "METHOD path-template status"
}

func (c *specChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	c.check(req, reqBody, resp, respBody)
	return resp, nil
}

func (c *specChecker) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	ctx := context.Background()
	clone := req.Clone(ctx)
	clone.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(clone)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			c.fail("%s %s: not in the spec (%v) but answered %d", req.Method, req.URL.Path, err, resp.StatusCode)
		}
		return
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			c.fail("%s %s answered %d but the spec rejects the request: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.fail("%s %s → %d: response off the spec: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, respBody)
	}
	c.mu.Lock()
	c.seen[fmt.Sprintf("%s %s %d", req.Method, route.Path, resp.StatusCode)] = true
	c.mu.Unlock()
}

func (c *specChecker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// TestTrafficMatchesOpenAPI drives every route, with successes and
// failures, and validates each exchange against docs/openapi.yaml.
func TestTrafficMatchesOpenAPI(t *testing.T) {
	e := newEnv(t, withRotation())
	// A fresh copy whose server is this test's API, so routes match.
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: e.APIURL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	checker := &specChecker{router: router, next: e.client.Transport, seen: map[string]bool{}}
	e.client.Transport = checker

	good := `{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `","applicationKey":"` + e.rotatorKey + `"}`
	steps := []struct{ method, path, body string }{
		{"POST", "/connections", e.createBody("spec", e.rotatorKey)},
		{"POST", "/connections", e.createBody("spec-limited", e.limitedKey)},
		{"POST", "/connections", e.createBody("spec-admin", e.adminKey)},
		{"POST", "/connections", e.createBody("spec", e.rotatorKey)},
		{"POST", "/connections", e.createBody("Bad", e.rotatorKey)},
		{"POST", "/connections", createBody("x", "us5.datadoghq.com", strings.Repeat("0", 32), e.rotatorKey)},
		{"GET", "/connections", ""},
		{"GET", "/connections?limit=1", ""},
		{"GET", "/connections?limit=0x", ""},
		{"GET", "/connections/spec", ""},
		{"GET", "/connections/spec-admin", ""},
		{"GET", "/connections/absent", ""},
		{"POST", "/connections/validate", `{"credentials":` + good + `}`},
		{"POST", "/connections/validate", `{"credentials":{"url":"us5.datadoghq.com","apiKey":"` + e.apiKey + `","applicationKey":"` + e.limitedKey + `"}}`},
		{"POST", "/connections/validate", `{"credentials":{"url":"ftp://x","apiKey":"","applicationKey":""}}`},
		{"POST", "/connections/spec/validate", ""},
		{"POST", "/connections/absent/validate", ""},
		{"GET", "/connections/spec/service-accounts", ""},
		{"GET", "/connections/spec-limited/service-accounts", ""},
		{"PATCH", "/connections/spec", `{"description":"patched"}`},
		{"PATCH", "/connections/spec", `{"name":"spec","credentials":` + good + `}`},
		{"PATCH", "/connections/spec", `{"name":"renamed"}`},
		{"POST", "/connections/spec/rotate", ""},
		{"PUT", "/connections/spec/rotation", `{"schedule":"rate(30 days)","window":"2h","rotateImmediately":false,"revokePrevious":"after:7d"}`},
		{"PUT", "/connections/spec/rotation", `{"schedule":"rate(1 hours)","revokePrevious":"later"}`},
		{"PUT", "/connections/spec-limited/rotation", `{"schedule":"7"}`},
		{"PUT", "/connections/absent/rotation", `{"schedule":"7"}`},
		{"POST", "/connections/spec/rotate", ""},
		{"WAIT", "", ""},
		{"GET", "/connections/spec", ""},
		{"POST", "/connections/spec/rotation/rollback", ""},
		{"POST", "/connections/spec/rotation/rollback", ""},
		{"POST", "/connections/absent/rotation/rollback", ""},
		{"DELETE", "/connections/spec/rotation", ""},
		{"DELETE", "/connections/absent/rotation", ""},
		{"DELETE", "/connections/spec-admin", ""},
		{"DELETE", "/connections/spec-admin", ""},
		{"DELETE", "/connections/spec-admin?force=true", ""},
		{"DELETE", "/connections/absent", ""},
	}
	steps = append(steps, managedKeySteps(e)...)
	for _, s := range steps {
		if s.method == "WAIT" { // for the rotation, so GET shows its outcome
			e.waitIdle()
			continue
		}
		e.do(s.method, s.path, s.body)
	}
	e.doType("POST", "/connections", "x", "text/plain")
	e.do("POST", "/connections", `{"description":"`+strings.Repeat("x", 17<<10)+`"}`)
	e.Simulator.AddFault(ddsim.Fault{Method: "GET", PathPrefix: "/api/v2/users", Status: 500})
	e.do("GET", "/connections/spec/service-accounts", "")

	for _, msg := range checker.errs {
		t.Error(msg)
	}
	// The run must have exercised every route.
	for _, rt := range httpapi.Routes {
		if !slices.ContainsFunc(keys(checker.seen), func(k string) bool { return strings.HasPrefix(k, rt.Key()+" ") }) {
			t.Errorf("no exchange on %s", rt.Key())
		}
	}
}

// managedKeySteps are the traffic of the managed-key routes and of PATCH's
// allowedServiceAccounts: a connection that may mint both kinds of key,
// every success and each refusal.
func managedKeySteps(e *env) []struct{ method, path, body string } {
	sim := e.Simulator
	mgr := sim.AddUser(e.orgID, ddsim.UserSpec{Name: "platform", Email: "platform@example.com", Permissions: keyManagerPermissions})
	mgrKey, _ := sim.AddAppKey(mgr, "platform-key", nil)
	sa := sim.AddUser(e.orgID, ddsim.UserSpec{Name: "checkout", ServiceAccount: true, Permissions: []string{"metrics_read"}})
	other := sim.AddUser(e.orgID, ddsim.UserSpec{Name: "billing", ServiceAccount: true, Permissions: []string{"metrics_read"}})
	const appKeys, apiKeys = "/connections/spec-keys/application-keys", "/connections/spec-keys/api-keys"
	return []struct{ method, path, body string }{
		{"POST", "/connections", e.createBody("spec-keys", mgrKey)},
		{"POST", appKeys, `{"name":"metrics-writer","serviceAccountId":"` + sa + `","scopes":["metrics_read"],` +
			`"rotation":{"schedule":"rate(30 days)","window":"2h","revokePrevious":"after:24h"},"includeApiKey":true,"allowUnscoped":false}`},
		{"POST", appKeys, mintBody("metrics-writer", sa, []string{"metrics_read"})},
		{"POST", appKeys, mintBody("unscoped", sa, []string{})},
		{"POST", appKeys, mintBody("human", e.adminID, []string{"metrics_read"})},
		{"POST", appKeys, mintBody("too-broad", sa, []string{"dashboards_read"})},
		{"POST", "/connections/absent/application-keys", mintBody("w", sa, []string{"metrics_read"})},
		{"PATCH", "/connections/spec-keys", `{"allowedServiceAccounts":["` + other + `"]}`},
		{"PATCH", "/connections/spec-keys", `{"allowedServiceAccounts":["nope"]}`},
		{"POST", appKeys, mintBody("refused", sa, []string{"metrics_read"})},
		{"GET", "/connections/spec-keys", ""},
		{"PATCH", "/connections/spec-keys", `{"allowedServiceAccounts":[]}`},
		{"GET", appKeys, ""},
		{"GET", appKeys + "/metrics-writer", ""},
		{"PATCH", appKeys + "/metrics-writer", `{"readers":["222222222222","arn:aws:iam::333333333333:role/reader"]}`},
		{"PATCH", appKeys + "/metrics-writer", `{"readers":["222222222222","*"]}`},
		{"PATCH", appKeys + "/metrics-writer", `{}`},
		{"PATCH", appKeys + "/absent", `{"readers":[]}`},
		{"GET", appKeys, ""},
		{"POST", appKeys + "/metrics-writer/rotation/rollback", ""},
		{"GET", appKeys + "/absent", ""},
		{"GET", "/connections/absent/application-keys", ""},
		{"DELETE", appKeys + "/metrics-writer?keepKeys=maybe", ""},
		{"DELETE", appKeys + "/metrics-writer", ""},
		{"DELETE", appKeys + "/metrics-writer", ""},
		{"POST", apiKeys, `{"name":"agent","rotation":{"schedule":"rate(7 days)"}}`},
		{"POST", apiKeys, `{"name":"agent","rotation":{"revokePrevious":"immediately"}}`},
		{"POST", apiKeys, `{"name":"agent"}`},
		{"POST", apiKeys, `{"name":"lambda","format":"plain"}`},
		{"POST", apiKeys, `{"name":"bad-format","format":"yaml"}`},
		{"GET", apiKeys, ""},
		{"GET", apiKeys + "/agent", ""},
		{"POST", apiKeys, `{"name":"shared","readers":["222222222222"]}`},
		{"PATCH", apiKeys + "/shared", `{"readers":[]}`},
		{"PATCH", apiKeys + "/agent", `{"readers":["arn:aws:iam::222222222222:user/ci"]}`},
		{"PATCH", apiKeys + "/agent", `{"readers":"222222222222"}`},
		{"POST", apiKeys + "/agent/rotation/rollback", ""},
		{"GET", apiKeys + "/absent", ""},
		{"DELETE", apiKeys + "/agent?keepKeys=false", ""},
		{"DELETE", apiKeys + "/agent", ""},
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
