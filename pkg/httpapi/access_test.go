package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// accessPolicy is the policy of the authorization tests: two teams and
// the platform administrators.
const accessPolicy = `{
  "administrators": {"principals": ["arn:aws:iam::111111111111:role/platform-admin"], "groups": ["platform"]},
  "teams": {
    "team-a": {"principals": ["arn:aws:iam::111111111111:role/team-a-*"], "groups": ["team-a"], "accounts": ["222222222222"]},
    "team-b": {"principals": ["arn:aws:iam::111111111111:role/team-b-*"], "groups": ["team-b"], "accounts": ["333333333333"]}
  }
}`

// principal is a caller of the matrix: how its request context looks.
type principal struct {
	name string
	// payload is the aws-lambda-go sample request its context starts from.
	payload testkit.EventName
	// arn is an IAM caller's ARN; groups a JWT caller's groups claim.
	arn, groups string
}

var principals = []principal{
	{name: "team-a role session", payload: testkit.HTTPAPIRequest, arn: "arn:aws:sts::111111111111:assumed-role/team-a-ci/build-7"},
	{name: "team-a JWT", payload: testkit.HTTPAPIRequestJWT, groups: "[team-a other]"},
	{name: "administrator", payload: testkit.HTTPAPIRequest, arn: "arn:aws:iam::111111111111:role/platform-admin"},
	{name: "unmapped role", payload: testkit.HTTPAPIRequest, arn: "arn:aws:iam::111111111111:role/somebody"},
}

// accessEnv is an env whose API runs as the Lambda functions do: each
// route's function handler behind API Gateway's v2 proxy, identities from
// the authorizer's request context, the access policy, and an audit log.
type accessEnv struct {
	*env
	handlers map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	audit    *logcapture.Buffer
	saID     string
	mgrID    string   // the user whose keys the connections hold
	keys     []string // the application keys of the connections
}

func newAccessEnv(t *testing.T) *accessEnv {
	t.Helper()
	policy, err := access.ParsePolicy([]byte(accessPolicy))
	if err != nil {
		t.Fatal(err)
	}
	e := &accessEnv{env: newEnv(t, withRotation())}
	opts := httpapi.Options{
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), Identify: apigateway.Identifier("groups"),
		Policy: access.Static{P: policy}, ManagedKeys: e.ManagedKeys, RequestID: apigateway.RequestID,
		Audit:    slog.New(slog.NewJSONHandler(auditWriter{e}, nil)),
		Rollback: rotation.New(e.Store, e.Datadog, rotation.Options{Prefix: secretPrefix}),
	}
	e.handlers = map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){
		httpapi.FunctionCreate:   apigateway.Proxy(httpapi.NewCreateHandler(e.Service, opts)),
		httpapi.FunctionValidate: apigateway.Proxy(httpapi.NewValidateHandler(e.Service, opts)),
		httpapi.FunctionManage:   apigateway.Proxy(httpapi.NewManageHandler(e.Service, opts)),
	}
	sim := e.Simulator
	mgr := sim.AddUser(e.orgID, ddsim.UserSpec{Name: "platform", Email: "platform@example.com", Permissions: keyManagerPermissions})
	e.mgrID = mgr
	e.saID = sim.AddUser(e.orgID, ddsim.UserSpec{Name: "checkout", ServiceAccount: true,
		Permissions: []string{"metrics_read", "user_app_keys"}})
	// The connections are made by ddconn itself (no caller), in each team
	// and in none.
	for _, c := range []struct{ name, team string }{{"conn-a", "team-a"}, {"conn-b", "team-b"}, {"conn-none", ""}, {"doomed-a", "team-a"}} {
		key, _ := sim.AddAppKey(mgr, c.name+"-key", nil)
		e.keys = append(e.keys, key)
		in := connection.CreateInput{Name: c.name, Team: c.team, Credentials: &connection.CredentialsInput{
			URL: "https://api.us5.datadoghq.com", APIKey: e.apiKey, ApplicationKey: key}}
		if _, err := e.Service.Create(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Service.EnableRotation(context.Background(), c.name, connection.RotationSettings{Rules: secretstore.RotationRules{ScheduleExpression: "rate(30 days)"}}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitIdle()
	return e
}

// auditWriter writes to the env's current audit buffer.
type auditWriter struct{ e *accessEnv }

func (w auditWriter) Write(p []byte) (int, error) { return w.e.audit.Write(p) }

// call sends method path body as principal p, through the route's
// function, as API Gateway would; it answers the status and body.
func (e *accessEnv) call(p principal, method, path, body string) (int, []byte) {
	e.t.Helper()
	route, ok := routeOf(method, path)
	if !ok {
		e.t.Fatalf("no route for %s %s", method, path)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(testkit.Event(p.payload), &req); err != nil {
		e.t.Fatal(err)
	}
	req.RouteKey, req.RequestContext.RouteKey = route.Key(), route.Key()
	req.RawPath, req.RawQueryString, req.QueryStringParameters, req.PathParameters = path, "", nil, nil
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = method, path
	req.Cookies, req.Headers = nil, map[string]string{"content-type": "application/json"}
	req.Body, req.IsBase64Encoded = body, false
	if p.arn != "" {
		req.RequestContext.Authorizer.IAM.UserARN = p.arn
	}
	if p.groups != "" {
		req.RequestContext.Authorizer.JWT.Claims["groups"] = p.groups
	}
	res, err := e.handlers[route.Function](context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, []byte(res.Body)
}

// routeOf finds the route serving method path.
func routeOf(method, path string) (httpapi.Route, bool) {
	mux := http.NewServeMux()
	for _, rt := range httpapi.Routes {
		mux.HandleFunc(rt.Key(), func(http.ResponseWriter, *http.Request) {})
	}
	r, _ := http.NewRequest(method, path, nil)
	_, pattern := mux.Handler(r)
	for _, rt := range httpapi.Routes {
		if rt.Key() == pattern {
			return rt, true
		}
	}
	return httpapi.Route{}, false
}

// fingerprint is everything a refused request must leave unchanged: every
// secret's name, versions, tags and description, every key in Datadog and
// every grant on the connection key.
func (e *accessEnv) fingerprint() string {
	e.t.Helper()
	var b strings.Builder
	cursor := ""
	for {
		page, next, err := e.Store.ListIncludingDeletedByName(context.Background(), "", 100, cursor)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, s := range page {
			fmt.Fprintf(&b, "%s %v %v %q %v\n", s.Name, s.Versions, sortedTags(s.Tags), s.Description, s.DeletedAt)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	keys := e.Simulator.Keys()
	slices.SortFunc(keys, func(a, b ddsim.KeyInfo) int { return strings.Compare(a.ID, b.ID) })
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s %v\n", k.ID, k.Name, k.Scopes)
	}
	for _, g := range e.KMS.Grants(e.KMSKeyID) {
		fmt.Fprintf(&b, "grant %s %s %v\n", g.GranteePrincipal, g.Operations, g.EncryptionContextSubset)
	}
	return b.String()
}

func sortedTags(tags map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, k+"="+tags[k])
	}
	return out
}

// relation is how a principal stands to a connection.
type relation int

const (
	own      relation = iota // a member of the connection's team
	other                    // a member of another team
	noTeam                   // the connection has no team
	admin                    // an administrator
	unmapped                 // no team, no administrator
)

// TestAuthorizationMatrix sends every route as each principal to its own
// team's connection, another team's and one with no team, through the
// function handlers under API Gateway's v2 proxy, and checks the status
// of every cell, that no refused cell changed anything in the stand-ins,
// and that every request left one audit record with its outcome.
func TestAuthorizationMatrix(t *testing.T) {
	e := newAccessEnv(t)
	mint := func(name string, scopes ...string) string {
		b, _ := json.Marshal(map[string]any{"name": name, "serviceAccountId": e.saID, "scopes": scopes})
		return string(b)
	}
	// readers mints name with readers (account ids or ARNs).
	readers := func(name string, readers ...string) string {
		b, _ := json.Marshal(map[string]any{"name": name, "serviceAccountId": e.saID, "scopes": []string{"metrics_read"}, "readers": readers})
		return string(b)
	}
	unscoped := func(name string) string {
		b, _ := json.Marshal(map[string]any{"name": name, "serviceAccountId": e.saID, "allowUnscoped": true})
		return string(b)
	}
	type cell struct {
		method, path, body string
		want               map[relation]int
	}
	// for returns the cells of one principal: c is the connection it
	// targets, n a name unique to the principal and the connection.
	cells := func(c, n string) []cell {
		all := func(s int) map[relation]int {
			return map[relation]int{own: s, other: 404, noTeam: 404, admin: s, unmapped: 404}
		}
		return []cell{
			{"GET", "/connections/" + c, "", all(200)},
			{"PATCH", "/connections/" + c, `{"description":"changed by ` + n + `"}`, all(200)},
			{"POST", "/connections/" + c + "/validate", "", all(200)},
			{"GET", "/connections/" + c + "/service-accounts", "", all(200)},
			{"PUT", "/connections/" + c + "/rotation", `{"schedule":"rate(20 days)","rotateImmediately":false}`, all(200)},
			{"POST", "/connections/" + c + "/rotate", "", all(202)},
			{"POST", "/connections/" + c + "/rotation/rollback", "", all(200)},
			{"POST", "/connections/" + c + "/application-keys", mint(n, "metrics_read"), all(201)},
			{"GET", "/connections/" + c + "/application-keys", "", all(200)},
			{"GET", "/connections/" + c + "/application-keys/" + n, "", all(200)},
			// Readers in the team's own account (its accounts, by default
			// its consumer accounts); in another, administrators only.
			{"PATCH", "/connections/" + c + "/application-keys/" + n, `{"readers":["222222222222"]}`, all(200)},
			{"PATCH", "/connections/" + c + "/application-keys/" + n, `{"readers":["arn:aws:iam::999999999999:role/x"]}`,
				map[relation]int{own: 403, other: 404, noTeam: 404, admin: 200, unmapped: 404}},
			{"PATCH", "/connections/" + c + "/application-keys/" + n, `{"readers":[]}`, all(200)},
			{"POST", "/connections/" + c + "/application-keys", readers(n+"-shared", "222222222222"), all(201)},
			{"POST", "/connections/" + c + "/application-keys", readers(n+"-foreign", "999999999999"),
				map[relation]int{own: 403, other: 404, noTeam: 404, admin: 201, unmapped: 404}},
			{"DELETE", "/connections/" + c + "/application-keys/" + n, "", all(204)},
			// A management scope, and an unscoped key: administrators only.
			{"POST", "/connections/" + c + "/application-keys", mint(n+"-mgmt", "user_app_keys"),
				map[relation]int{own: 403, other: 404, noTeam: 404, admin: 201, unmapped: 404}},
			{"POST", "/connections/" + c + "/application-keys", unscoped(n + "-all"),
				map[relation]int{own: 403, other: 404, noTeam: 404, admin: 201, unmapped: 404}},
			// Administrators alone move a connection or change its service accounts.
			{"PATCH", "/connections/" + c, `{"allowedServiceAccounts":[]}`,
				map[relation]int{own: 403, other: 404, noTeam: 404, admin: 200, unmapped: 404}},
			{"PATCH", "/connections/" + c, `{"team":"team-b"}`,
				map[relation]int{own: 403, other: 404, noTeam: 404, admin: 200, unmapped: 404}},
			{"DELETE", "/connections/" + c + "/rotation", "", all(200)},
		}
	}
	createBody := func(name, team string) string {
		key, _ := e.Simulator.AddAppKey(e.mgrID, name+"-key", nil)
		e.keys = append(e.keys, key)
		b, _ := json.Marshal(map[string]any{"name": name, "team": team, "credentials": map[string]string{
			"url": "https://api.us5.datadoghq.com", "apiKey": e.apiKey, "applicationKey": key}})
		return string(b)
	}

	for i, p := range principals {
		targets := map[relation]string{own: "conn-a", other: "conn-b", noTeam: "conn-none"}
		switch p.name {
		case "administrator":
			targets = map[relation]string{admin: "conn-none"}
		case "unmapped role":
			targets = map[relation]string{unmapped: "conn-a"}
		}
		for rel, conn := range targets {
			for _, c := range cells(conn, fmt.Sprintf("k%d", i)) {
				want := c.want[rel]
				before := e.fingerprint()
				e.audit = &logcapture.Buffer{}
				status, body := e.call(p, c.method, c.path, c.body)
				e.waitIdle()
				if status != want {
					t.Errorf("%s → %s %s (%s): %d %s, want %d", p.name, c.method, c.path, c.body, status, body, want)
				}
				if status >= 400 && e.fingerprint() != before {
					t.Errorf("%s → %s %s: refused with %d, yet the stand-ins changed", p.name, c.method, c.path, status)
				}
				checkAudit(t, e.audit, p.name+" → "+c.method+" "+c.path, status)
			}
			if p.name == "administrator" {
				// Put conn-none back out of team-b.
				if s, b := e.call(p, "PATCH", "/connections/conn-none", `{"team":""}`); s != 200 {
					t.Fatalf("moving conn-none back: %d %s", s, b)
				}
			}
		}

		// Creating: in one's own team; not in another, nor in none.
		creates := []struct {
			team string
			want map[string]int
		}{
			{"team-a", map[string]int{"team-a role session": 201, "team-a JWT": 201, "administrator": 201, "unmapped role": 403}},
			{"team-b", map[string]int{"team-a role session": 403, "team-a JWT": 403, "administrator": 201, "unmapped role": 403}},
			{"", map[string]int{"team-a role session": 403, "team-a JWT": 403, "administrator": 201, "unmapped role": 403}},
		}
		for j, c := range creates {
			req := createBody(fmt.Sprintf("new-%d-%d", i, j), c.team)
			before := e.fingerprint()
			status, body := e.call(p, "POST", "/connections", req)
			if status != c.want[p.name] {
				t.Errorf("%s creating in team %q: %d %s, want %d", p.name, c.team, status, body, c.want[p.name])
			}
			if status >= 400 && e.fingerprint() != before {
				t.Errorf("%s creating in team %q: refused, yet the stand-ins changed", p.name, c.team)
			}
		}
		// A name taken by a connection the caller cannot see: 409, nothing more.
		if status, body := e.call(p, "POST", "/connections", createBody("conn-b", "team-a")); p.name != "unmapped role" &&
			(status != http.StatusConflict || bytes.Contains(body, []byte("team-b")) || bytes.Contains(body, []byte("scheduled"))) {
			t.Errorf("%s creating over a hidden name: %d %s, want a bare 409", p.name, status, body)
		}
	}

	// The list holds only what the caller sees.
	for _, tt := range []struct {
		p    principal
		want []string
	}{
		{principals[0], []string{"conn-a", "doomed-a", "new-0-0", "new-1-0", "new-2-0"}},
		{principals[3], nil},
	} {
		_, body := e.call(tt.p, "GET", "/connections?limit=100", "")
		var page connection.Page
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range page.Connections {
			got = append(got, c.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s lists %v, want %v", tt.p.name, got, tt.want)
		}
	}

	// A member deletes its team's connection; others cannot.
	if s, _ := e.call(principals[3], "DELETE", "/connections/doomed-a?force=true", ""); s != http.StatusNotFound {
		t.Errorf("an unmapped caller deleting doomed-a: %d, want 404", s)
	}
	if s, b := e.call(principals[1], "DELETE", "/connections/doomed-a?force=true", ""); s != http.StatusOK {
		t.Errorf("team-a deleting doomed-a: %d %s, want 200", s, b)
	}
	testkit.AssertNoKeyMaterial(t, e.audit.String(), e.secrets()...)
	testkit.AssertNoKeyMaterial(t, e.audit.String(), e.keys...)
}

// checkAudit finds the one audit record of a request in buf, and checks
// its outcome against the status.
func checkAudit(t *testing.T, buf *logcapture.Buffer, what string, status int) {
	t.Helper()
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec[access.AuditMarker] == true {
			records = append(records, rec)
		}
	}
	if len(records) != 1 {
		t.Errorf("%s: %d audit records, want 1", what, len(records))
		return
	}
	want := access.OutcomeAllowed
	switch {
	case status == http.StatusForbidden || status == http.StatusNotFound:
		want = access.OutcomeRefused
	case status >= 400:
		want = access.OutcomeFailed
	}
	if got := records[0]["outcome"]; got != want || records[0]["status"] != float64(status) || records[0]["action"] == "" {
		t.Errorf("%s: audit record %v, want outcome %s and status %d", what, records[0], want, status)
	}
}
