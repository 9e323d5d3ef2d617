package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/secretkind"
)

// TestDuplicateScopesAreNormalised mints a key whose scopes repeat and are
// out of order: ddconn asks Datadog for each scope once, in sorted order,
// and answers 201 with that list.
func TestDuplicateScopesAreNormalised(t *testing.T) {
	k := newKeysEnv(t)
	minted := k.mintAppKey("dupes", k.saID, "metrics_read", "dashboards_read", "metrics_read")
	want := []string{"dashboards_read", "metrics_read"}
	if !slices.Equal(minted.Scopes, want) {
		t.Fatalf("scopes = %v, want %v", minted.Scopes, want)
	}
	if at, ok := k.appKeyAt(minted.ApplicationKeyID); !ok || !slices.Equal(at.Scopes, want) {
		t.Fatalf("simulator key scopes = %v (found %v), want %v", at.Scopes, ok, want)
	}
	k.noKeyMaterial()
}

// TestErrorsNeverEchoKeyMaterial puts key material - the org's keys and a
// managed key minted earlier - wherever a request can carry it: a JSON
// field name, a path segment, a scope that Datadog's refusal quotes. No
// answer may hold any of it, whole or in part.
func TestErrorsNeverEchoKeyMaterial(t *testing.T) {
	k := newKeysEnv(t)
	victim := k.mintAppKey("victim", k.saID, "metrics_read")
	minted := k.keyDocument(secretkind.AppKey, victim.SecretName).Key
	upper := strings.ToUpper(minted)
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"field name", "POST", "/connections", `{"name":"a","` + minted + `":"x"}`, 400},
		{"nested field name", "POST", "/connections", `{"name":"a","credentials":{"` + k.apiKey + `":"x"}}`, 400},
		{"scope quoted by Datadog", "POST", "/connections/keys/application-keys", mintBody("w", k.saID, []string{minted}), 422},
		{"connection name", "GET", "/connections/" + minted, "", 404},
		{"connection name, bad form", "GET", "/connections/" + upper, "", 400},
		{"managed key name", "GET", "/connections/keys/application-keys/" + upper, "", 400},
		{"managed key name, API keys", "DELETE", "/connections/keys/api-keys/" + k.apiKey + "-", "", 400},
		{"unknown route", "GET", "/no/" + minted, "", 404},
		{"wrong method", "PUT", "/connections/" + minted, "", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := k.do(tt.method, tt.path, tt.body)
			mustStatus(t, r, tt.status)
			testkit.AssertNoKeyMaterial(t, r.body, minted, upper, k.apiKey, k.managerKey)
		})
	}
}

// TestStrictJSON refuses what encoding/json alone accepts: repeated
// members, names that differ from ours only in case, and text that is not
// what it looks like.
func TestStrictJSON(t *testing.T) {
	k := newKeysEnv(t)
	creds := `"credentials":{"url":"us5.datadoghq.com","apiKey":"` + k.apiKey + `","applicationKey":"` + k.managerKey + `"}`
	tests := []struct {
		name, path, body, field string
	}{
		{"duplicate member", "/connections", `{"name":"dup","name":"other",` + creds + `}`, "name"},
		{"upper-case name", "/connections", `{"NAME":"upper",` + creds + `}`, "name"},
		{"mixed-case key field", "/connections", `{"name":"mixed","credentials":{"url":"us5.datadoghq.com","APIKEY":"` + k.apiKey + `","applicationKey":"` + k.managerKey + `"}}`, "credentials.apiKey"},
		{"duplicate nested member", "/connections", `{"name":"nested","credentials":{"url":"us5.datadoghq.com","url":"datadoghq.eu","apiKey":"` + k.apiKey + `","applicationKey":"` + k.managerKey + `"}}`, "credentials.url"},
		{"control character in description", "/connections", `{"name":"ctl","description":"a\u0007b",` + creds + `}`, "description"},
		{"newline in description", "/connections", `{"name":"nl","description":"a\nb",` + creds + `}`, "description"},
		{"bidi override in description", "/connections", `{"name":"bidi","description":"abc\u202edcb",` + creds + `}`, "description"},
		{"mint: duplicate member", "/connections/keys/application-keys", `{"name":"w","name":"v","serviceAccountId":"` + k.saID + `","scopes":["metrics_read"]}`, "name"},
		{"mint: upper-case field", "/connections/keys/application-keys", `{"name":"w","SERVICEACCOUNTID":"` + k.saID + `","scopes":["metrics_read"]}`, "serviceAccountId"},
		{"mint: nested case", "/connections/keys/application-keys", `{"name":"w","serviceAccountId":"` + k.saID + `","scopes":["metrics_read"],"rotation":{"Schedule":"rate(1 day)"}}`, "rotation.schedule"},
		{"unknown field", "/connections", `{"name":"unk","colour":"red",` + creds + `}`, "body"},
		{"unknown nested field", "/connections", `{"name":"unk","credentials":{"url":"x","token":"y"}}`, "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := k.do("POST", tt.path, tt.body)
			mustStatus(t, r, http.StatusBadRequest)
			checkEnvelope(t, r, "invalid_request", tt.field)
		})
	}
	if keys := k.Simulator.Keys(); slices.ContainsFunc(keys, func(ki ddsim.KeyInfo) bool { return ki.OwnerID == k.saID }) {
		t.Error("a refused mint left a key at the simulator")
	}
	if r := k.do("GET", "/connections", ""); strings.Contains(string(r.body), `"dup"`) || strings.Contains(string(r.body), `"upper"`) {
		t.Errorf("a refused create made a connection: %s", r.body)
	}

	t.Run("charset", func(t *testing.T) {
		for _, tt := range []struct {
			contentType string
			status      int
		}{
			{"application/json; charset=iso-8859-1", http.StatusUnsupportedMediaType},
			{"application/json; charset=utf-16", http.StatusUnsupportedMediaType},
			{"application/json; charset=UTF-8", http.StatusOK},
			{"application/json;charset=utf-8", http.StatusOK},
		} {
			r := k.doType("PATCH", "/connections/keys", `{"description":"d"}`, tt.contentType)
			if r.status != tt.status {
				t.Errorf("%s: status %d, want %d: %s", tt.contentType, r.status, tt.status, r.body)
			}
		}
	})
}

// TestQueryAndPathForms: limit=0 is out of range like any other, and dot
// or empty segments get the error envelope rather than the mux's redirect.
func TestQueryAndPathForms(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("taken", e.rotatorKey)), http.StatusCreated)
	tests := []struct {
		name, method, path string
		status             int
		field              string
	}{
		{"limit zero", "GET", "/connections?limit=0", 400, "limit"},
		{"limit negative", "GET", "/connections?limit=-1", 400, "limit"},
		{"dot-dot", "GET", "/connections/../connections", 400, ""},
		{"encoded dot-dot", "GET", "/connections/%2e%2e/connections/taken", 400, ""},
		{"dot", "GET", "/connections/./taken", 400, ""},
		{"empty segment", "GET", "//connections/taken", 400, ""},
		{"dot-dot on a write", "DELETE", "/connections/x/../taken", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, "")
			mustStatus(t, r, tt.status)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			checkEnvelope(t, r, "invalid_request", tt.field)
		})
	}
	if r := e.do("GET", "/connections/taken", ""); r.status != http.StatusOK {
		t.Fatalf("a refused path changed something: %d %s", r.status, r.body)
	}
}

// TestPathNamesAndServiceAccountIDs: every route checks its path names
// with one rule, and service account ids compare the same on mint as on
// PATCH.
func TestPathNamesAndServiceAccountIDs(t *testing.T) {
	k := newKeysEnv(t)
	long := strings.Repeat("a", 5000)
	tests := []struct {
		name, method, path, field string
	}{
		{"NUL in an application key name", "GET", "/connections/keys/application-keys/a%00b", "key"},
		{"5000-character application key name", "GET", "/connections/keys/application-keys/" + long, "key"},
		{"delete with NUL", "DELETE", "/connections/keys/application-keys/a%00b", "key"},
		{"API key name too long", "GET", "/connections/keys/api-keys/" + long, "key"},
		{"delete API key upper case", "DELETE", "/connections/keys/api-keys/Agent", "key"},
		{"connection name on a managed-key route", "GET", "/connections/Keys/application-keys", "name"},
		{"connection name with NUL", "POST", "/connections/a%00/api-keys", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := k.do(tt.method, tt.path, `{"name":"x"}`)
			mustStatus(t, r, http.StatusBadRequest)
			checkEnvelope(t, r, "invalid_request", tt.field)
			if len(r.body) > 2000 {
				t.Errorf("the answer is %d bytes: it repeats the path", len(r.body))
			}
		})
	}

	upper := strings.ToUpper(k.otherSAID)
	mustStatus(t, k.do("PATCH", "/connections/keys", `{"allowedServiceAccounts":["`+upper+`"]}`), http.StatusOK)
	if minted := k.mintAppKey("upper", upper, "metrics_read"); minted.ServiceAccountID != k.otherSAID {
		t.Errorf("serviceAccountId = %q, want %q", minted.ServiceAccountID, k.otherSAID)
	}
	r := k.do("POST", "/connections/keys/application-keys", mintBody("bad-sa", "checkout", []string{"metrics_read"}))
	mustStatus(t, r, http.StatusBadRequest)
	checkEnvelope(t, r, "invalid_request", "serviceAccountId")
	k.noKeyMaterial()
}
