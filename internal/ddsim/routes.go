package ddsim

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// maxBodyBytes bounds request bodies; Datadog's own bodies here are tiny.
const maxBodyBytes = 1 << 20

// route is one Datadog operation: its ServeMux pattern (same path parameter
// names as the OpenAPI document), what authentication it needs and the
// permissions its x-permission lists.
type route struct {
	pattern    string
	apiKeyOnly bool     // validate endpoints: DD-API-KEY only
	jsonAPI403 bool     // GET /api/v2/validate answers 403 with a JSON:API body
	anyOf      []string // x-permission, operator OR; empty means OPEN
	handle     func(s *Simulator, c *caller, in request) reply
}

// request is what a handler sees: the HTTP request and its body, read before
// the simulator lock is taken.
type request struct {
	*http.Request
	body []byte
}

// apiRoutes is the implemented subset of Datadog's API. The contract test
// checks every pattern here against the official OpenAPI documents.
var apiRoutes = []route{
	{pattern: "GET /api/v1/validate", apiKeyOnly: true, handle: (*Simulator).validateV1},
	{pattern: "GET /api/v2/validate", apiKeyOnly: true, jsonAPI403: true, handle: (*Simulator).validateV2},
	{pattern: "GET /api/v2/validate_keys", handle: (*Simulator).validateKeys},
	{pattern: "GET /api/v2/current_user", handle: (*Simulator).currentUser},

	{pattern: "GET /api/v2/current_user/application_keys", anyOf: permUserAppKeys, handle: (*Simulator).listCurrentUserAppKeys},
	{pattern: "POST /api/v2/current_user/application_keys", anyOf: permUserAppKeys, handle: (*Simulator).createCurrentUserAppKey},
	{pattern: "GET /api/v2/current_user/application_keys/{app_key_id}", anyOf: permUserAppKeys, handle: (*Simulator).getCurrentUserAppKey},
	{pattern: "PATCH /api/v2/current_user/application_keys/{app_key_id}", anyOf: permUserAppKeys, handle: (*Simulator).updateCurrentUserAppKey},
	{pattern: "DELETE /api/v2/current_user/application_keys/{app_key_id}", anyOf: permUserAppKeys, handle: (*Simulator).deleteCurrentUserAppKey},

	{pattern: "GET /api/v2/service_accounts/{service_account_id}/application_keys", anyOf: permServiceAccountWrite, handle: (*Simulator).listServiceAccountAppKeys},
	{pattern: "POST /api/v2/service_accounts/{service_account_id}/application_keys", anyOf: permServiceAccountWrite, handle: (*Simulator).createServiceAccountAppKey},
	{pattern: "GET /api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}", anyOf: permServiceAccountWrite, handle: (*Simulator).getServiceAccountAppKey},
	{pattern: "PATCH /api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}", anyOf: permServiceAccountWrite, handle: (*Simulator).updateServiceAccountAppKey},
	{pattern: "DELETE /api/v2/service_accounts/{service_account_id}/application_keys/{app_key_id}", anyOf: permServiceAccountWrite, handle: (*Simulator).deleteServiceAccountAppKey},

	{pattern: "GET /api/v2/users", anyOf: []string{"user_access_read"}, handle: (*Simulator).listUsers},
	{pattern: "GET /api/v2/permissions", anyOf: []string{"user_access_read"}, handle: (*Simulator).listPermissions},

	{pattern: "GET /api/v2/api_keys", anyOf: []string{"api_keys_read"}, handle: (*Simulator).listAPIKeys},
	{pattern: "POST /api/v2/api_keys", anyOf: []string{"api_keys_write"}, handle: (*Simulator).createAPIKey},
	{pattern: "GET /api/v2/api_keys/{api_key_id}", anyOf: []string{"api_keys_read"}, handle: (*Simulator).getAPIKey},
	{pattern: "PATCH /api/v2/api_keys/{api_key_id}", anyOf: []string{"api_keys_write"}, handle: (*Simulator).updateAPIKey},
	{pattern: "DELETE /api/v2/api_keys/{api_key_id}", anyOf: []string{"api_keys_delete"}, handle: (*Simulator).deleteAPIKey},
}

var (
	permUserAppKeys         = []string{"user_app_keys"}
	permServiceAccountWrite = []string{"service_account_write"}
)

// routes builds the mux for the API and the admin paths. Anything else gets
// a JSON 404, like an unknown Datadog endpoint.
func (s *Simulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range apiRoutes {
		mux.Handle(rt.pattern, s.apiHandler(rt))
	}
	s.adminRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		notFound("Not found").write(w)
	})
	return mux
}

// apiHandler runs rt's pipeline: read the body, then under the lock
// authenticate, rate-limit, check permissions, handle and persist; finally
// write the reply outside the lock.
func (s *Simulator) apiHandler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		rep := badRequest("Request body too large or unreadable")
		if err == nil {
			rep = s.dispatch(rt, request{Request: r, body: body})
		}
		rep.write(w)
		s.log.InfoContext(r.Context(), "datadog api request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rep.status),
			slog.Duration("duration", time.Since(start)))
	})
}

func (s *Simulator) dispatch(rt route, in request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	key := s.apiKeyFor(in.Header.Get(headerAPIKey), now)
	if key == nil {
		// Rate limits count per API key, so a request without a valid one
		// is refused before it could count against anyone.
		if rt.jsonAPI403 {
			return jsonAPIForbidden()
		}
		return forbidden()
	}
	limit := s.takeRate(key.ID, now)
	if limit.exceeded {
		s.throttled.Add(1)
		return limit.apply(tooManyRequests())
	}
	return limit.apply(s.serveAuthenticated(rt, key, in, now))
}

// serveAuthenticated finishes authentication (the application key, when rt
// needs one), checks permissions, runs rt.handle and persists successful
// mutations. s.mu must be held.
func (s *Simulator) serveAuthenticated(rt route, key *apiKey, in request, now time.Time) reply {
	c := &caller{org: s.st.Orgs[key.OrgID], apiKey: key}
	if !rt.apiKeyOnly {
		c.appKey, c.owner = s.appKeyFor(key.OrgID, in.Header.Get(headerAppKey), now)
		if c.appKey == nil || !s.allowed(c, rt.anyOf) {
			return forbidden()
		}
	}
	s.markUsed(c, now)
	rep := rt.handle(s, c, in)
	if in.Method != http.MethodGet && rep.status < 300 {
		s.persistLocked()
	}
	return rep
}

// markUsed records when each credential last authenticated a request, for
// last_used_at and date_last_used. s.mu must be held.
func (s *Simulator) markUsed(c *caller, now time.Time) {
	t := now.UTC()
	c.apiKey.LastUsedAt = &t
	if c.appKey != nil {
		c.appKey.LastUsedAt = &t
	}
}
