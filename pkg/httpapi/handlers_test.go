package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/logging"
)

// stubService answers every call with err, or panics when panicking is set.
// The handlers are under test here, not the service.
type stubService struct {
	err      error
	panicked bool
}

var _ service = (*stubService)(nil)
var _ service = (*connection.Service)(nil)

func (s *stubService) fail() error {
	if s.panicked {
		panic("boom")
	}
	return s.err
}

func (s *stubService) Create(context.Context, connection.CreateInput) (connection.Connection, error) {
	return connection.Connection{Name: "c"}, s.fail()
}
func (s *stubService) ValidateCredentials(context.Context, connection.CredentialsInput) (connection.Validation, error) {
	return connection.Validation{}, s.fail()
}
func (s *stubService) ValidateStored(context.Context, string) (connection.Validation, error) {
	return connection.Validation{}, s.fail()
}
func (s *stubService) ServiceAccounts(context.Context, string) ([]connection.ServiceAccount, error) {
	return nil, s.fail()
}
func (s *stubService) Get(context.Context, string) (connection.Connection, error) {
	return connection.Connection{}, s.fail()
}
func (s *stubService) List(context.Context, int, string) (connection.Page, error) {
	return connection.Page{}, s.fail()
}
func (s *stubService) Update(context.Context, string, connection.UpdateInput) (connection.Connection, error) {
	return connection.Connection{}, s.fail()
}
func (s *stubService) Delete(context.Context, string, bool, bool) (connection.Deletion, error) {
	return connection.Deletion{}, s.fail()
}
func (s *stubService) EnableRotation(context.Context, string, connection.RotationSettings) (connection.Connection, error) {
	return connection.Connection{}, s.fail()
}
func (s *stubService) DisableRotation(context.Context, string) (connection.Connection, error) {
	return connection.Connection{}, s.fail()
}
func (s *stubService) RotateNow(context.Context, string) (connection.RotationStarted, error) {
	return connection.RotationStarted{}, s.fail()
}

func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestInternalErrorsLeakNothing(t *testing.T) {
	tests := []struct {
		name string
		svc  *stubService
	}{
		{"unclassified error", &stubService{err: errors.New("dial tcp 10.1.2.3:443: secret internals")}},
		{"panic", &stubService{panicked: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := NewMux(tt.svc, Options{Logger: logging.New(&logs, slog.LevelInfo),
				RequestID: func(*http.Request) string { return "req-42" }})
			rec := serve(h, "GET", "/connections/x", "")
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d", rec.Code)
			}
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if env.Error.Code != CodeInternal || env.RequestID != "req-42" || strings.Contains(rec.Body.String(), "internals") || strings.Contains(rec.Body.String(), "boom") {
				t.Fatalf("body = %s", rec.Body)
			}
			if !strings.Contains(logs.String(), `"msg":"internal error"`) || !strings.Contains(logs.String(), `"request_id":"req-42"`) {
				t.Fatalf("the cause must be logged with the request id: %s", logs.String())
			}
		})
	}
}

func TestEachFunctionServesOnlyItsRoutes(t *testing.T) {
	svc := &stubService{}
	handlers := map[string]http.Handler{
		FunctionCreate:   NewCreateHandler(svc, Options{}),
		FunctionValidate: NewValidateHandler(svc, Options{}),
		FunctionManage:   NewManageHandler(svc, Options{}),
	}
	mux := NewMux(svc, Options{})
	for _, rt := range Routes {
		path := strings.ReplaceAll(rt.Pattern, "{name}", "c")
		body := ""
		if rt.Method == "POST" || rt.Method == "PATCH" {
			body = `{"description":"x","credentials":{}}`
		}
		for fn, h := range handlers {
			t.Run(fn+" "+rt.Key(), func(t *testing.T) {
				rec := serve(h, rt.Method, path, body)
				routed := rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed
				if routed != (fn == rt.Function) {
					t.Fatalf("status %d: function %s must serve exactly its own routes", rec.Code, fn)
				}
			})
		}
		t.Run("mux "+rt.Key(), func(t *testing.T) {
			if rec := serve(mux, rt.Method, path, body); rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				t.Fatalf("the dev mux does not serve %s: %d", rt.Key(), rec.Code)
			}
		})
	}
}

func TestMethodNotAllowedListsAllowedMethods(t *testing.T) {
	rec := serve(NewManageHandler(&stubService{}, Options{}), "POST", "/connections/c", "")
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Header().Get("Allow"), "PATCH") {
		t.Fatalf("status %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	var env envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code != CodeMethodNotAllowed {
		t.Fatalf("body = %s", rec.Body)
	}
}

func TestRequestIDComesFromContextOrIsGenerated(t *testing.T) {
	h := NewMux(&stubService{}, Options{})
	a, b := serve(h, "GET", "/nope", ""), serve(h, "GET", "/nope", "")
	idA, idB := a.Header().Get("X-Request-Id"), b.Header().Get("X-Request-Id")
	if idA == "" || idA == idB || !strings.Contains(a.Body.String(), idA) {
		t.Fatalf("ids %q %q, body %s", idA, idB, a.Body)
	}
}

func TestMountRejectsDrift(t *testing.T) {
	a := newAPI(Options{})
	tests := []struct {
		name string
		hs   handlers
	}{
		{"missing handler", handlers{}},
		{"handler without route", func() handlers {
			hs := a.createRoutes(&stubService{})
			hs["PUT /connections/{name}/rotation"] = func(http.ResponseWriter, *http.Request) {}
			return hs
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("mount accepted handlers that disagree with Routes")
				}
			}()
			a.mount(FunctionCreate, tt.hs)
		})
	}
}

// TestManagedKeyRoutesWithoutService answers 503 on every managed-key
// route of a handler built without Options.ManagedKeys, rather than 404 or
// a panic, so a misconfigured deployment says what is missing.
func TestManagedKeyRoutesWithoutService(t *testing.T) {
	h := NewManageHandler(&stubService{}, Options{})
	for _, rt := range Routes {
		if !strings.Contains(rt.Pattern, "-keys") {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			path := strings.NewReplacer("{name}", "c", "{key}", "k").Replace(rt.Pattern)
			body := ""
			switch rt.Method {
			case "POST":
				body = `{"name":"k"}`
			case "PATCH":
				body = `{"readers":[]}`
			}
			rec := serve(h, rt.Method, path, body)
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusServiceUnavailable ||
				env.Error.Code != CodeManagedKeysUnavailable {
				t.Fatalf("status %d body %s", rec.Code, rec.Body)
			}
		})
	}
}
