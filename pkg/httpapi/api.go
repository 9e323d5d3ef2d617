package httpapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/secretkind"
)

// creator serves the create function.
type creator interface {
	Create(ctx context.Context, in connection.CreateInput) (connection.Connection, error)
}

// validator serves the validate function.
type validator interface {
	ValidateCredentials(ctx context.Context, in connection.CredentialsInput) (connection.Validation, error)
	ValidateStored(ctx context.Context, name string) (connection.Validation, error)
	ServiceAccounts(ctx context.Context, name string) ([]connection.ServiceAccount, error)
}

// manager serves the manage function.
type manager interface {
	Get(ctx context.Context, name string) (connection.Connection, error)
	List(ctx context.Context, limit int, cursor string) (connection.Page, error)
	Update(ctx context.Context, name string, in connection.UpdateInput) (connection.Connection, error)
	Delete(ctx context.Context, name string, force, keepKeys bool) (connection.Deletion, error)
	EnableRotation(ctx context.Context, name string, in connection.RotationSettings) (connection.Connection, error)
	DisableRotation(ctx context.Context, name string) (connection.Connection, error)
	RotateNow(ctx context.Context, name string) (connection.RotationStarted, error)
}

// service serves every route; *connection.Service implements it.
type service interface {
	creator
	validator
	manager
}

// Options configures the handlers.
type Options struct {
	// Logger receives one access record per request and the details of
	// failures; nil discards.
	Logger *slog.Logger
	// RequestID returns the id of a request (on Lambda, API Gateway's
	// request id). When it is nil or returns "", the id already in the
	// context (logging.WithRequestID) is used, else a random one.
	RequestID func(*http.Request) string
	// Now is the clock of the access log's durations; nil means time.Now.
	Now func() time.Time
	// ManagedKeys serves the manage function's managed-key routes
	// (…/application-keys, …/api-keys); nil answers them with 503
	// managed_keys_not_configured.
	ManagedKeys ManagedKeys
	// Rollback serves the manage function's rollback routes
	// (…/rotation/rollback); nil answers them with 503
	// rotation_not_configured.
	Rollback Rollbacker
	// Identify tells who a request comes from (on Lambda,
	// apigateway.Identify); nil makes every request anonymous.
	Identify func(*http.Request) access.Identity
	// Policy is the access policy; nil means none: every caller is an
	// administrator.
	Policy access.Source
	// Audit receives one audit record per request (access.Audit); nil
	// means Logger.
	Audit *slog.Logger
	// Metrics receives Refusals; nil discards.
	Metrics *metrics.Writer
}

// api holds what every handler shares.
type api struct {
	log        *slog.Logger
	audit      *slog.Logger
	requestID  func(*http.Request) string
	now        func() time.Time
	keys       ManagedKeys
	rollbacker Rollbacker
	identify   func(*http.Request) access.Identity
	policy     access.Source
	metrics    *metrics.Writer
}

func newAPI(opts Options) *api {
	a := &api{log: opts.Logger, audit: opts.Audit, requestID: opts.RequestID, now: opts.Now, keys: opts.ManagedKeys, rollbacker: opts.Rollback,
		identify: opts.Identify, policy: opts.Policy, metrics: opts.Metrics}
	if a.log == nil {
		a.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if a.audit == nil {
		a.audit = a.log
	}
	if a.identify == nil {
		a.identify = func(*http.Request) access.Identity { return access.Identity{Kind: access.KindAnonymous} }
	}
	if a.policy == nil {
		a.policy = access.Static{}
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// NewCreateHandler serves the create function's routes.
func NewCreateHandler(c creator, opts Options) http.Handler {
	a := newAPI(opts)
	return a.mount(FunctionCreate, a.createRoutes(c))
}

// NewValidateHandler serves the validate function's routes.
func NewValidateHandler(v validator, opts Options) http.Handler {
	a := newAPI(opts)
	return a.mount(FunctionValidate, a.validateRoutes(v))
}

// NewManageHandler serves the manage function's routes.
func NewManageHandler(m manager, opts Options) http.Handler {
	a := newAPI(opts)
	return a.mount(FunctionManage, a.manageRoutes(m))
}

// NewMux serves every route on one handler, as `make dev` does.
func NewMux(s service, opts Options) http.Handler {
	a := newAPI(opts)
	all := a.createRoutes(s)
	maps.Copy(all, a.validateRoutes(s))
	maps.Copy(all, a.manageRoutes(s))
	return a.mount("", all)
}

// handlers maps Route.Key() to the handler of that route.
type handlers map[string]http.HandlerFunc

func (a *api) createRoutes(c creator) handlers {
	return handlers{"POST /connections": a.create(c)}
}

func (a *api) validateRoutes(v validator) handlers {
	return handlers{
		"POST /connections/validate":               a.validateCredentials(v),
		"POST /connections/{name}/validate":        a.validateStored(v),
		"GET /connections/{name}/service-accounts": a.serviceAccounts(v),
	}
}

func (a *api) manageRoutes(m manager) handlers {
	hs := handlers{
		"GET /connections":           a.list(m),
		"GET /connections/{name}":    a.get(m),
		"PATCH /connections/{name}":  a.update(m),
		"DELETE /connections/{name}": a.delete(m),

		"PUT /connections/{name}/rotation":    a.enableRotation(m),
		"DELETE /connections/{name}/rotation": a.disableRotation(m),
		"POST /connections/{name}/rotate":     a.rotateNow(m),
	}
	maps.Copy(hs, a.managedKeyRoutes(a.keys))
	maps.Copy(hs, a.rollbackRoutes(m, a.keys))
	return hs
}

// mount registers the handlers of function ("" = every function) and checks
// them against Routes, so the table and the code cannot drift apart. A
// mismatch is a programming error and panics at start-up.
func (a *api) mount(function string, hs handlers) http.Handler {
	mux := http.NewServeMux()
	left := maps.Clone(hs)
	for _, rt := range Routes {
		if function != "" && rt.Function != function {
			continue
		}
		h, ok := left[rt.Key()]
		if !ok {
			panic(fmt.Sprintf("httpapi: no handler for route %q of function %q", rt.Key(), rt.Function))
		}
		mux.Handle(rt.Key(), a.checkPath(rt.Pattern, h))
		delete(left, rt.Key())
	}
	if len(left) > 0 {
		panic(fmt.Sprintf("httpapi: handlers for routes missing from Routes: %v", slices.Sorted(maps.Keys(left))))
	}
	return a.middleware(mux)
}

// middleware gives every request an id, answers unknown routes and wrong
// methods with the envelope, turns panics into 500s and logs one access
// record per request.
func (a *api) middleware(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		id := a.idOf(r)
		r = r.WithContext(logging.WithRequestID(r.Context(), id))
		rec := &recorder{ResponseWriter: w}
		rec.Header().Set("X-Request-Id", id)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.writeError(rec, r, fmt.Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, p))
			}
			a.access(r, rec, start)
		}()
		if p := r.URL.Path; cleanPath(p) != p {
			// The mux would answer with a redirect to the cleaned path.
			a.writeError(rec, r, badRequest(CodeInvalidRequest,
				"the path must not hold '.', '..' or empty segments"))
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			a.noRoute(rec, r, mux)
			return
		}
		ctx, note := access.WithNote(r.Context())
		policy, err := a.policy.Policy(ctx)
		if err != nil {
			a.log.ErrorContext(ctx, "the access policy is unavailable", "err", err)
			a.writeError(rec, r, &requestError{status: http.StatusServiceUnavailable, code: CodeAccessPolicyUnavailable,
				message: "the access policy could not be read; nothing is allowed until it can. Try again later"})
			return
		}
		r = r.WithContext(access.WithCaller(ctx, access.Resolve(policy, a.identify(r))))
		defer a.record(r, rec, note)
		mux.ServeHTTP(rec, r)
	})
}

// record writes the request's audit record, and counts a refusal: a 403,
// or a connection the caller may not see answered as missing.
func (a *api) record(r *http.Request, rec *recorder, note *access.Note) {
	out := access.Record{Action: r.Pattern, Target: cmp.Or(target(r), note.Target), Team: note.Team, Status: rec.status, Code: rec.code,
		Outcome: access.OutcomeAllowed}
	switch {
	case rec.status == http.StatusForbidden || note.Hidden:
		out.Outcome = access.OutcomeRefused
		if err := a.metrics.Count(metrics.Refusals, 1); err != nil {
			a.log.WarnContext(r.Context(), "writing a metric failed", "err", err)
		}
	case rec.status >= 400:
		out.Outcome = access.OutcomeFailed
	}
	access.Audit(r.Context(), a.audit, out)
}

// target names what a request works on: "<connection>" or
// "<connection>/<key>"; "" for a collection.
func target(r *http.Request) string {
	name, key := r.PathValue("name"), r.PathValue("key")
	if key != "" {
		return name + "/" + key
	}
	return name
}

// access logs one record per request; the error code only on failures.
func (a *api) access(r *http.Request, rec *recorder, start time.Time) {
	attrs := []any{"method", r.Method, "route", r.Pattern, "status", rec.status, "duration_ms", a.now().Sub(start).Milliseconds()}
	if rec.code != "" {
		attrs = append(attrs, "error_code", rec.code)
	}
	a.log.InfoContext(r.Context(), "request", attrs...)
}

// noRoute answers a request no route matches: 405 (with Allow) when the
// path exists for other methods, else 404. The mux decides which; its
// plain-text answer is replaced by the envelope.
func (a *api) noRoute(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	h, _ := mux.Handler(r)
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		a.writeError(w, r, &requestError{status: http.StatusMethodNotAllowed, code: CodeMethodNotAllowed,
			message: "the method is not allowed on this path; allowed: " + probe.header.Get("Allow")})
		return
	}
	a.writeError(w, r, &requestError{status: http.StatusNotFound, code: CodeNotFound,
		message: "no route has this method and path"})
}

// cleanPath is the path net/http's ServeMux redirects p to: p without
// '.', '..' and empty segments, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// pathRule is what a path wildcard must hold.
type pathRule struct {
	valid func(string) bool
	rule  string
}

// pathRules are the rules of every wildcard of Routes, by wildcard name:
// {name} is a connection name and {key} a managed key name, both held to
// the rule the services apply to the names they create.
var pathRules = map[string]pathRule{
	"name": {secretkind.ValidName, secretkind.NameRule},
	"key":  {secretkind.ValidName, secretkind.NameRule},
}

// checkPath answers 400 when a wildcard of pattern holds something its
// rule refuses, before h runs, so every route refuses a bad name the same
// way. The error names the wildcard, never its value. A wildcard without a
// rule is a programming error and panics at start-up.
func (a *api) checkPath(pattern string, h http.Handler) http.Handler {
	var names []string
	for seg := range strings.SplitSeq(pattern, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if _, ok := pathRules[name]; !ok {
				panic(fmt.Sprintf("httpapi: no rule for wildcard {%s} of %q", name, pattern))
			}
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var details []connection.FieldError
		for _, name := range names {
			if rule := pathRules[name]; !rule.valid(r.PathValue(name)) {
				details = append(details, connection.FieldError{Field: name, Message: rule.rule})
			}
		}
		if len(details) > 0 {
			a.writeError(w, r, badRequest(CodeInvalidRequest, "the request is invalid", details...))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (a *api) idOf(r *http.Request) string {
	if a.requestID != nil {
		if id := a.requestID(r); id != "" {
			return id
		}
	}
	if id := logging.RequestID(r.Context()); id != "" {
		return id
	}
	return newRequestID()
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// writeJSON answers with v as JSON.
func (a *api) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.log.ErrorContext(r.Context(), "encoding response", "err", err)
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal_error","message":"internal error"},"requestId":""}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// recorder remembers the status and error code for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	code   string
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// headerProbe captures what the mux's own 404/405 handlers would answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }
