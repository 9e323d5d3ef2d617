package ddsim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The contract test drives the simulator with the real Datadog Go client and
// checks every request and response against the official OpenAPI documents
// shipped in the client module. A request whose route the documents lack, a
// status an operation does not declare, or a body off its schema fails it.

const clientModule = "github.com/DataDog/datadog-api-client-go/v2"

// openAPISpecs are routers over the v1 and v2 documents, built once per test
// binary from the subset the simulator's routes need (see specSubset).
var openAPISpecs = sync.OnceValues(func() (map[string]routers.Router, error) {
	dir, err := moduleDir(clientModule)
	if err != nil {
		return nil, err
	}
	specs := map[string]routers.Router{}
	for version, paths := range implementedPaths() {
		router, err := loadSpec(filepath.Join(dir, ".generator", "schemas", version, "openapi.yaml"), paths)
		if err != nil {
			return nil, err
		}
		specs[version] = router
	}
	return specs, nil
})

// moduleDir asks the go command where a required module's source is.
func moduleDir(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("locating %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func clientModuleDir(t *testing.T) string {
	t.Helper()
	dir, err := moduleDir(clientModule)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// implementedPaths lists the paths of apiRoutes by API version ("v1", "v2").
func implementedPaths() map[string][]string {
	paths := map[string][]string{}
	for _, rt := range apiRoutes {
		_, path, _ := strings.Cut(rt.pattern, " ")
		version := specVersion(path)
		if !slices.Contains(paths[version], path) {
			paths[version] = append(paths[version], path)
		}
	}
	return paths
}

func specVersion(path string) string {
	if strings.HasPrefix(path, "/api/v1/") {
		return "v1"
	}
	return "v2"
}

func loadSpec(path string, paths []string) (routers.Router, error) {
	full, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading OpenAPI document: %w", err)
	}
	subset, err := specSubset(full, paths)
	if err != nil {
		return nil, fmt.Errorf("cutting %s: %w", path, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(subset)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	// Route on paths alone: the simulator's address is not one of Datadog's
	// servers.
	doc.Servers = nil
	// The documents' own examples do not all validate, so example validation
	// is off (request and response checks stay on).
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("routing %s: %w", path, err)
	}
	return router, nil
}

// exchange is one recorded request and its response.
type exchange struct {
	req     *http.Request
	reqBody []byte
	status  int
	header  http.Header
	body    []byte
}

// recorder serves through next and keeps a copy of every exchange.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	log  []exchange
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqBody, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	saved := r.Clone(context.Background())
	rw := httptest.NewRecorder()
	rec.next.ServeHTTP(rw, r)
	for name, values := range rw.Header() {
		w.Header()[name] = values
	}
	w.WriteHeader(rw.Code)
	_, _ = w.Write(rw.Body.Bytes())

	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.log = append(rec.log, exchange{req: saved, reqBody: reqBody, status: rw.Code, header: rw.Header().Clone(), body: rw.Body.Bytes()})
}

// wrap makes rec record what next serves; it has newWrappedFixture's shape.
func (rec *recorder) wrap(next http.Handler) http.Handler {
	rec.next = next
	return rec
}

func (rec *recorder) exchanges() []exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]exchange(nil), rec.log...)
}

// requireKeyHeaders accepts the API- and application-key schemes when the
// request carries the header the scheme names; it refuses every other scheme
// (OAuth, bearer), which ddconn does not use.
func requireKeyHeaders(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	switch in.SecuritySchemeName {
	case "apiKeyAuth", "appKeyAuth":
		if in.RequestValidationInput.Request.Header.Get(in.SecurityScheme.Name) == "" {
			return in.NewError(fmt.Errorf("header %s missing", in.SecurityScheme.Name))
		}
		return nil
	}
	return in.NewError(fmt.Errorf("scheme %s is not used", in.SecuritySchemeName))
}

// validationOptions are shared by request and response checks. Schema error
// details are off because they would quote values, and values here include
// key secrets.
var validationOptions = &openapi3filter.Options{
	ExcludeRequestBody:      false,
	IncludeResponseStatus:   true,
	MultiError:              true,
	AuthenticationFunc:      requireKeyHeaders,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
}

// validateExchange checks ex against the OpenAPI documents and returns the
// operation it matched, as "METHOD /spec/path/{param}".
func validateExchange(specs map[string]routers.Router, ex exchange) (operation string, err error) {
	version := specVersion(ex.req.URL.Path)
	req := ex.req.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(ex.reqBody))
	route, params, err := specs[version].FindRoute(req)
	if err != nil {
		return "", fmt.Errorf("no operation of the %s OpenAPI document that the simulator implements matches: %w", version, err)
	}
	operation = route.Method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: validationOptions}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return operation, fmt.Errorf("request: %w", err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.status, Header: ex.header, Options: validationOptions}
	out.SetBodyBytes(ex.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return operation, fmt.Errorf("response: %w", err)
	}
	return operation, nil
}

func TestOpenAPIContract(t *testing.T) {
	start := time.Now()
	specs, err := openAPISpecs()
	if err != nil {
		t.Fatalf("loading the OpenAPI documents: %v", err)
	}
	t.Logf("OpenAPI documents loaded in %v", time.Since(start).Round(time.Millisecond))

	main, limited, faulted := &recorder{}, &recorder{}, &recorder{}
	exerciseEveryRoute(t, newWrappedFixture(t, Options{MaxKeysPerUser: 4}, main.wrap))
	exerciseRateLimit(t, newWrappedFixture(t, Options{RateLimit: 1}, limited.wrap))
	exerciseRateLimitFaults(t, newWrappedFixture(t, Options{}, faulted.wrap))
	exchanges := append(append(main.exchanges(), limited.exchanges()...), faulted.exchanges()...)

	seen := map[string]map[string]bool{} // operation → "2xx"/"4xx"
	for _, ex := range exchanges {
		operation, err := validateExchange(specs, ex)
		if err != nil {
			t.Errorf("%s %s → %d: %v", ex.req.Method, ex.req.URL.Path, ex.status, err)
			continue
		}
		if seen[operation] == nil {
			seen[operation] = map[string]bool{}
		}
		seen[operation][fmt.Sprintf("%dxx", ex.status/100)] = true
	}
	for _, rt := range apiRoutes {
		if !seen[rt.pattern]["2xx"] || !seen[rt.pattern]["4xx"] {
			t.Errorf("%s: exercised with %v, want a success and an error status", rt.pattern, seen[rt.pattern])
		}
	}
	if n := len(exchanges); n < 2*len(apiRoutes) {
		t.Errorf("only %d exchanges recorded", n)
	}
}

// TestRoutesMatchTheSpec checks that every simulator route is a Datadog
// operation with the same path parameter names.
func TestRoutesMatchTheSpec(t *testing.T) {
	specs, err := openAPISpecs()
	if err != nil {
		t.Fatalf("loading the OpenAPI documents: %v", err)
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, rt := range apiRoutes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		concrete := param.ReplaceAllString(path, "00000000-0000-4000-8000-000000000000")
		req := httptest.NewRequest(method, concrete, nil)
		route, _, err := specs[specVersion(path)].FindRoute(req)
		if err != nil {
			t.Errorf("%s: not in the spec: %v", rt.pattern, err)
			continue
		}
		if route.Path != path {
			t.Errorf("%s: the spec calls it %s", rt.pattern, route.Path)
		}
		if got := xPermissions(route.Operation); !equalSets(got, rt.anyOf) {
			t.Errorf("%s: x-permission %v, simulator requires %v", rt.pattern, got, rt.anyOf)
		}
	}
}

// xPermissions reads an operation's x-permission list (OPEN gives none).
func xPermissions(op *openapi3.Operation) []string {
	ext, _ := op.Extensions["x-permission"].(map[string]any)
	var perms []string
	if list, ok := ext["permissions"].([]any); ok {
		for _, p := range list {
			perms = append(perms, fmt.Sprint(p))
		}
	}
	return perms
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !strings.Contains(","+strings.Join(b, ",")+",", ","+x+",") {
			return false
		}
	}
	return true
}

// exerciseEveryRoute calls each implemented operation through the Go client,
// with a success and with the error statuses the operation declares.
func exerciseEveryRoute(t *testing.T, f *fixture) {
	t.Helper()
	km, sa, users, roles := f.keys(), f.serviceAccounts(), f.users(), f.roles()
	admin, robot := f.as(f.adminKey), f.as(f.robotKey)
	badAPI := f.ctx("ffffffffffffffffffffffffffffffff", f.adminKey)
	badApp := f.as("0000000000000000000000000000000000000000")
	metricsOnly, _ := f.sim.AddAppKey(f.adminID, "metrics-only", []string{"metrics_read"})
	weak := f.as(metricsOnly)
	unknown := newID()
	name := "renamed"
	want := func(label string, wantStatus int, resp *http.Response, err error) {
		t.Helper()
		if got := statusOf(t, resp, err); got != wantStatus {
			t.Errorf("%s: status %d, want %d (errors %v)", label, got, wantStatus, errorsOf(err))
		}
	}

	// Validation.
	_, resp, err := f.auth().Validate(f.ctx(f.apiKey, ""))
	want("v1 validate", 200, resp, err)
	_, resp, err = f.auth().Validate(f.ctx("ffffffffffffffffffffffffffffffff", ""))
	want("v1 validate, bad key", 403, resp, err)
	_, resp, err = km.Validate(f.ctx(f.apiKey, ""))
	want("v2 validate", 200, resp, err)
	_, resp, err = km.Validate(f.ctx("ffffffffffffffffffffffffffffffff", ""))
	want("v2 validate, bad key", 403, resp, err)
	_, resp, err = km.ValidateAPIKey(admin)
	want("validate_keys", 200, resp, err)
	_, resp, err = km.ValidateAPIKey(badApp)
	want("validate_keys, bad app key", 403, resp, err)
	_, resp, err = users.GetCurrentUser(robot)
	want("current_user", 200, resp, err)
	_, resp, err = users.GetCurrentUser(badAPI)
	want("current_user, bad API key", 403, resp, err)

	// Current-user application keys.
	created, resp, err := km.CreateCurrentUserApplicationKey(robot, createKeyBody("cu-1", []string{"metrics_read"}))
	want("create CU key", 201, resp, err)
	cuID := created.Data.GetId()
	_, resp, err = km.CreateCurrentUserApplicationKey(robot, createKeyBody("cu-unscoped", nil))
	want("create unscoped CU key", 201, resp, err)
	_, resp, err = km.CreateCurrentUserApplicationKey(robot, createKeyBody("cu-bad", []string{"no_such_permission"}))
	want("create CU key, invalid scope", 400, resp, err)
	_, resp, err = km.CreateCurrentUserApplicationKey(weak, createKeyBody("cu-weak", nil))
	want("create CU key without user_app_keys", 403, resp, err)
	_, resp, err = km.ListCurrentUserApplicationKeys(robot, *datadogV2.NewListCurrentUserApplicationKeysOptionalParameters().
		WithPageSize(2).WithPageNumber(0).WithSort(datadogV2.APPLICATIONKEYSSORT_CREATED_AT_DESCENDING).WithFilter("cu").
		WithFilterCreatedAtStart("2020-11-24T18:46:21+00:00").WithFilterCreatedAtEnd("2100-01-01T00:00:00Z").WithInclude("owned_by"))
	want("list CU keys", 200, resp, err)
	_, resp, err = km.ListCurrentUserApplicationKeys(robot, *datadogV2.NewListCurrentUserApplicationKeysOptionalParameters().WithPageSize(101))
	want("list CU keys, page too large", 400, resp, err)
	_, resp, err = km.ListCurrentUserApplicationKeys(weak)
	want("list CU keys without permission", 403, resp, err)
	_, resp, err = km.GetCurrentUserApplicationKey(robot, cuID)
	want("get CU key", 200, resp, err)
	_, resp, err = km.GetCurrentUserApplicationKey(robot, unknown)
	want("get CU key, unknown", 404, resp, err)
	_, resp, err = km.UpdateCurrentUserApplicationKey(robot, cuID, updateKeyBody(cuID, &name, nil))
	want("patch CU key name", 200, resp, err)
	_, resp, err = km.UpdateCurrentUserApplicationKey(robot, cuID, updateKeyBody(cuID, nil, datadog.NewNullableList[string](nil)))
	want("patch CU key scopes to null", 200, resp, err)
	_, resp, err = km.UpdateCurrentUserApplicationKey(robot, cuID, updateKeyBody(unknown, &name, nil))
	want("patch CU key, id mismatch", 400, resp, err)
	_, resp, err = km.UpdateCurrentUserApplicationKey(robot, unknown, updateKeyBody(unknown, &name, nil))
	want("patch CU key, unknown", 404, resp, err)
	resp, err = km.DeleteCurrentUserApplicationKey(robot, cuID)
	want("delete CU key", 204, resp, err)
	resp, err = km.DeleteCurrentUserApplicationKey(robot, cuID)
	want("delete CU key again", 404, resp, err)

	// Service-account application keys (robot now has 2 keys; the limit is 4).
	saKey, resp, err := sa.CreateServiceAccountApplicationKey(admin, f.robotID, createKeyBody("sa-1", []string{"metrics_read"}))
	want("create SA key", 201, resp, err)
	saID := saKey.Data.GetId()
	_, resp, err = sa.CreateServiceAccountApplicationKey(admin, f.robotID, createKeyBody("sa-2", nil))
	want("create SA key up to the limit", 201, resp, err)
	_, resp, err = sa.CreateServiceAccountApplicationKey(admin, f.robotID, createKeyBody("sa-3", nil))
	want("create SA key over the limit", 400, resp, err)
	_, resp, err = sa.CreateServiceAccountApplicationKey(weak, f.robotID, createKeyBody("sa-weak", nil))
	want("create SA key without service_account_write", 403, resp, err)
	_, resp, err = sa.ListServiceAccountApplicationKeys(admin, f.robotID, *datadogV2.NewListServiceAccountApplicationKeysOptionalParameters().
		WithPageSize(10).WithPageNumber(0).WithSort(datadogV2.APPLICATIONKEYSSORT_LAST4_ASCENDING).WithFilter("sa").
		WithFilterCreatedAtStart("2020-11-24").WithFilterCreatedAtEnd("2100-01-01"))
	want("list SA keys", 200, resp, err)
	_, resp, err = sa.ListServiceAccountApplicationKeys(admin, f.robotID, *datadogV2.NewListServiceAccountApplicationKeysOptionalParameters().WithFilterCreatedAtStart("last tuesday"))
	want("list SA keys, bad date", 400, resp, err)
	_, resp, err = sa.ListServiceAccountApplicationKeys(admin, unknown)
	want("list SA keys, unknown account", 404, resp, err)
	_, resp, err = sa.ListServiceAccountApplicationKeys(weak, f.robotID)
	want("list SA keys without permission", 403, resp, err)
	_, resp, err = sa.GetServiceAccountApplicationKey(admin, f.robotID, saID)
	want("get SA key", 200, resp, err)
	_, resp, err = sa.GetServiceAccountApplicationKey(admin, f.robotID, unknown)
	want("get SA key, unknown", 404, resp, err)
	_, resp, err = sa.UpdateServiceAccountApplicationKey(admin, f.robotID, saID, updateKeyBody(saID, &name, nil))
	want("patch SA key", 200, resp, err)
	_, resp, err = sa.UpdateServiceAccountApplicationKey(admin, f.robotID, saID, updateKeyBody(saID, nil, datadog.NewNullableList(&[]string{})))
	want("patch SA key, empty scopes", 400, resp, err)
	_, resp, err = sa.UpdateServiceAccountApplicationKey(admin, unknown, saID, updateKeyBody(saID, &name, nil))
	want("patch SA key, unknown account", 404, resp, err)
	resp, err = sa.DeleteServiceAccountApplicationKey(admin, f.robotID, saID)
	want("delete SA key", 204, resp, err)
	resp, err = sa.DeleteServiceAccountApplicationKey(admin, f.robotID, saID)
	want("delete SA key again", 404, resp, err)

	// Users and permissions.
	_, resp, err = users.ListUsers(admin, *datadogV2.NewListUsersOptionalParameters().WithPageSize(2).WithPageNumber(0).
		WithSort("email").WithSortDir(datadogV2.QUERYSORTORDER_DESC).WithFilter("acme").WithFilterStatus("Active,Disabled"))
	want("list users", 200, resp, err)
	_, resp, err = users.ListUsers(admin, *datadogV2.NewListUsersOptionalParameters().WithPageSize(500))
	want("list users, page too large", 400, resp, err)
	_, resp, err = users.ListUsers(weak)
	want("list users without permission", 403, resp, err)
	_, resp, err = roles.ListPermissions(admin, *datadogV2.NewListPermissionsOptionalParameters().WithIncludeScopes(false))
	want("list permissions", 200, resp, err)
	_, resp, err = roles.ListPermissions(weak)
	want("list permissions without permission", 403, resp, err)

	// API keys.
	apiKey, resp, err := km.CreateAPIKey(admin, createAPIKeyBody("contract"))
	want("create API key", 201, resp, err)
	apiKeyID := apiKey.Data.GetId()
	_, resp, err = km.CreateAPIKey(admin, createAPIKeyBody("contract"))
	want("create API key, duplicate name", 400, resp, err)
	_, resp, err = km.CreateAPIKey(weak, createAPIKeyBody("weak"))
	want("create API key without permission", 403, resp, err)
	_, resp, err = km.ListAPIKeys(admin, *datadogV2.NewListAPIKeysOptionalParameters().WithPageSize(5).WithPageNumber(0).
		WithSort(datadogV2.APIKEYSSORT_MODIFIED_AT_DESCENDING).WithFilter("con").WithFilterCreatedAtStart("2020-01-01").
		WithFilterModifiedAtEnd("2100-01-01T00:00:00+00:00").WithInclude("created_by").WithFilterCategory("default").
		WithFilterRemoteConfigReadEnabled(false))
	want("list API keys", 200, resp, err)
	_, resp, err = km.ListAPIKeys(admin, *datadogV2.NewListAPIKeysOptionalParameters().WithInclude("owner"))
	want("list API keys, bad include", 400, resp, err)
	_, resp, err = km.GetAPIKey(admin, apiKeyID, *datadogV2.NewGetAPIKeyOptionalParameters().WithInclude("created_by,modified_by"))
	want("get API key", 200, resp, err)
	_, resp, err = km.GetAPIKey(admin, unknown)
	want("get API key, unknown", 404, resp, err)
	renamed, resp, err := km.UpdateAPIKey(admin, apiKeyID, updateAPIKeyBody(apiKeyID, "contract-renamed"))
	want("rename API key", 200, resp, err)
	if got := renamed.Data.Attributes.GetName(); got != "contract-renamed" {
		t.Errorf("renamed API key is named %q", got)
	}
	_, resp, err = km.UpdateAPIKey(admin, apiKeyID, updateAPIKeyBody(unknown, "x"))
	want("rename API key, id mismatch", 400, resp, err)
	_, resp, err = km.UpdateAPIKey(admin, unknown, updateAPIKeyBody(unknown, "x"))
	want("rename API key, unknown", 404, resp, err)
	_, resp, err = km.UpdateAPIKey(weak, apiKeyID, updateAPIKeyBody(apiKeyID, "weak"))
	want("rename API key without permission", 403, resp, err)
	resp, err = km.DeleteAPIKey(weak, apiKeyID)
	want("delete API key without permission", 403, resp, err)
	resp, err = km.DeleteAPIKey(admin, apiKeyID)
	want("delete API key", 204, resp, err)
	resp, err = km.DeleteAPIKey(admin, apiKeyID)
	want("delete API key again", 404, resp, err)
}

func updateAPIKeyBody(id, name string) datadogV2.APIKeyUpdateRequest {
	return datadogV2.APIKeyUpdateRequest{Data: datadogV2.APIKeyUpdateData{
		Id: id, Type: datadogV2.APIKEYSTYPE_API_KEYS, Attributes: datadogV2.APIKeyUpdateAttributes{Name: name},
	}}
}

// exerciseRateLimitFaults produces 429 responses from faults, before and
// after the change, on operations of both API versions.
func exerciseRateLimitFaults(t *testing.T, f *fixture) {
	t.Helper()
	f.sim.AddFault(Fault{Method: "POST", PathPrefix: "/api/v2/service_accounts/", Status: http.StatusTooManyRequests})
	f.sim.AddFault(Fault{Method: "POST", PathPrefix: "/api/v2/api_keys", Status: http.StatusTooManyRequests, AfterChange: true})
	f.sim.AddFault(Fault{PathPrefix: "/api/v1/validate", Status: http.StatusTooManyRequests})
	_, resp, err := f.serviceAccounts().CreateServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, createKeyBody("limited", nil))
	if got := statusOf(t, resp, err); got != http.StatusTooManyRequests {
		t.Errorf("faulted service-account key create: status %d, want 429", got)
	}
	_, resp, err = f.keys().CreateAPIKey(f.as(f.adminKey), createAPIKeyBody("limited-after-change"))
	if got := statusOf(t, resp, err); got != http.StatusTooManyRequests {
		t.Errorf("faulted API key create: status %d, want 429", got)
	}
	_, resp, err = f.auth().Validate(f.ctx(f.apiKey, ""))
	if got := statusOf(t, resp, err); got != http.StatusTooManyRequests {
		t.Errorf("faulted v1 validate: status %d, want 429", got)
	}
}

// exerciseRateLimit produces declared 429 responses on a limit of one
// request per window.
func exerciseRateLimit(t *testing.T, f *fixture) {
	t.Helper()
	for range 2 {
		f.keys().ValidateAPIKey(f.as(f.adminKey))
		f.auth().Validate(f.ctx(f.apiKey, ""))
	}
	_, resp, err := f.keys().ValidateAPIKey(f.as(f.adminKey))
	if got := statusOf(t, resp, err); got != http.StatusTooManyRequests {
		t.Errorf("rate-limited validate_keys: status %d, want 429", got)
	}
}
