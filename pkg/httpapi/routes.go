package httpapi

// The HTTP functions, as named in Routes.
const (
	FunctionCreate   = "create"
	FunctionValidate = "validate"
	FunctionManage   = "manage"
)

// Route is one API route and the function that serves it.
type Route struct {
	// Function is FunctionCreate, FunctionValidate or FunctionManage.
	Function string
	// Method is the HTTP method, such as "POST".
	Method string
	// Pattern is the path pattern, with {name} wildcards as in net/http
	// and API Gateway.
	Pattern string
}

// Key is the route as a net/http pattern, such as "POST /connections".
func (r Route) Key() string { return r.Method + " " + r.Pattern }

// Routes is the one route table: handlers are mounted from it, and tests
// compare it with docs/openapi.yaml and template.yaml. To add a route, add it
// here and give its handler to the function's constructor.
var Routes = []Route{
	{FunctionCreate, "POST", "/connections"},

	{FunctionValidate, "POST", "/connections/validate"},
	{FunctionValidate, "POST", "/connections/{name}/validate"},
	{FunctionValidate, "GET", "/connections/{name}/service-accounts"},

	{FunctionManage, "GET", "/connections"},
	{FunctionManage, "GET", "/connections/{name}"},
	{FunctionManage, "PATCH", "/connections/{name}"},
	{FunctionManage, "DELETE", "/connections/{name}"},
	{FunctionManage, "PUT", "/connections/{name}/rotation"},
	{FunctionManage, "DELETE", "/connections/{name}/rotation"},
	{FunctionManage, "POST", "/connections/{name}/rotate"},

	{FunctionManage, "POST", "/connections/{name}/application-keys"},
	{FunctionManage, "GET", "/connections/{name}/application-keys"},
	{FunctionManage, "GET", "/connections/{name}/application-keys/{key}"},
	{FunctionManage, "PATCH", "/connections/{name}/application-keys/{key}"},
	{FunctionManage, "DELETE", "/connections/{name}/application-keys/{key}"},
	{FunctionManage, "POST", "/connections/{name}/api-keys"},
	{FunctionManage, "GET", "/connections/{name}/api-keys"},
	{FunctionManage, "GET", "/connections/{name}/api-keys/{key}"},
	{FunctionManage, "PATCH", "/connections/{name}/api-keys/{key}"},
	{FunctionManage, "DELETE", "/connections/{name}/api-keys/{key}"},

	{FunctionManage, "POST", "/connections/{name}/rotation/rollback"},
	{FunctionManage, "POST", "/connections/{name}/application-keys/{key}/rotation/rollback"},
	{FunctionManage, "POST", "/connections/{name}/api-keys/{key}/rotation/rollback"},
}
