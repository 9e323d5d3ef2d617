package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// keyManagerPermissions are what a connection needs to manage both kinds
// of managed keys.
var keyManagerPermissions = []string{"service_account_write", "user_access_read", "user_app_keys",
	"api_keys_read", "api_keys_write", "api_keys_delete"}

// keysEnv is an env with a connection "keys" that may mint managed keys,
// two service accounts to mint for, and a record of every response body,
// so a test can prove that none of them held key material.
type keysEnv struct {
	*env
	managerKey string // the connection's application key
	saID       string // service account "checkout": metrics_read, dashboards_read
	otherSAID  string // service account "billing": metrics_read
	bodies     []string
}

func newKeysEnv(t *testing.T) *keysEnv {
	t.Helper()
	e := newEnv(t)
	sim := e.Simulator
	mgr := sim.AddUser(e.orgID, ddsim.UserSpec{Name: "platform", Email: "platform@example.com", Permissions: keyManagerPermissions})
	k := &keysEnv{env: e}
	k.managerKey, _ = sim.AddAppKey(mgr, "platform-key", nil)
	k.saID = sim.AddUser(e.orgID, ddsim.UserSpec{Name: "checkout", ServiceAccount: true, Permissions: []string{"metrics_read", "dashboards_read"}})
	k.otherSAID = sim.AddUser(e.orgID, ddsim.UserSpec{Name: "billing", ServiceAccount: true, Permissions: []string{"metrics_read"}})
	mustStatus(t, k.do("POST", "/connections", e.createBody("keys", k.managerKey)), http.StatusCreated)
	return k
}

// do sends a request and records its response body.
func (k *keysEnv) do(method, path, body string) response {
	k.t.Helper()
	r := k.env.do(method, path, body)
	k.bodies = append(k.bodies, string(r.body))
	return r
}

// mintBody is a POST …/application-keys body.
func mintBody(name, saID string, scopes []string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "serviceAccountId": saID, "scopes": scopes})
	return string(b)
}

// mintAppKey mints the application key name for the service account saID
// through the API, fails unless it answers 201, and returns the answer.
func (k *keysEnv) mintAppKey(name, saID string, scopes ...string) managedkey.AppKey {
	k.t.Helper()
	r := k.do("POST", "/connections/keys/application-keys", mintBody(name, saID, scopes))
	mustStatus(k.t, r, http.StatusCreated)
	var minted managedkey.AppKey
	r.json(k.t, &minted)
	return minted
}

// getJSON GETs path, fails unless it answers 200, and decodes the answer
// into v.
func (k *keysEnv) getJSON(path string, v any) response {
	k.t.Helper()
	r := k.do("GET", path, "")
	mustStatus(k.t, r, http.StatusOK)
	r.json(k.t, v)
	return r
}

// keyDocument reads the AWSCURRENT document of the secret of a managed key
// of kind (secretkind.AppKey or secretkind.APIKey).
func (k *keysEnv) keyDocument(kind secretkind.Kind, secretName string) secretkind.Document {
	k.t.Helper()
	v, err := k.Store.Get(context.Background(), secretName, "", secretstore.Current)
	if err != nil {
		k.t.Fatal(err)
	}
	doc, err := kind.Parse(v.Value)
	if err != nil {
		k.t.Fatal(err)
	}
	return doc
}

// noKeyMaterial fails if any recorded response holds one of the org's keys
// or one of minted.
func (k *keysEnv) noKeyMaterial(minted ...string) {
	k.t.Helper()
	keys := append(append(k.secrets(), k.managerKey), minted...)
	for i, body := range k.bodies {
		if !testkit.AssertNoKeyMaterial(k.t, body, keys...) {
			k.t.Errorf("response %d holds key material", i)
		}
	}
}

// appKeyAt returns the simulator's key with id, if it exists.
func (k *keysEnv) appKeyAt(id string) (ddsim.KeyInfo, bool) {
	keys := k.Simulator.Keys()
	i := slices.IndexFunc(keys, func(ki ddsim.KeyInfo) bool { return ki.ID == id })
	if i < 0 {
		return ddsim.KeyInfo{}, false
	}
	return keys[i], true
}

// TestManagedApplicationKeyLifecycle mints, lists, reads and deletes a
// managed application key through the API and checks each step at the
// simulator: the key belongs to the service account with exactly the
// requested scopes, and deleting it revokes it.
func TestManagedApplicationKeyLifecycle(t *testing.T) {
	k := newKeysEnv(t)
	r := k.do("POST", "/connections/keys/application-keys", mintBody("metrics-writer", k.saID, []string{"metrics_read"}))
	mustStatus(t, r, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/connections/keys/application-keys/metrics-writer" {
		t.Errorf("Location = %q", loc)
	}
	var minted managedkey.AppKey
	r.json(t, &minted)
	if minted.Name != "metrics-writer" || minted.Connection != "keys" || minted.ServiceAccountID != k.saID ||
		!slices.Equal(minted.Scopes, []string{"metrics_read"}) || minted.ApplicationKeyID == "" {
		t.Fatalf("minted = %+v", minted)
	}
	at, ok := k.appKeyAt(minted.ApplicationKeyID)
	if !ok || at.OwnerID != k.saID || !slices.Equal(at.Scopes, []string{"metrics_read"}) {
		t.Fatalf("simulator key = %+v (found %v), want the service account's with scopes [metrics_read]", at, ok)
	}
	doc := k.keyDocument(secretkind.AppKey, minted.SecretName)
	if !k.Simulator.Authenticates(k.apiKey, doc.Key) {
		t.Fatal("the stored key does not authenticate")
	}

	var list struct {
		ApplicationKeys []managedkey.AppKey `json:"applicationKeys"`
	}
	if r := k.getJSON("/connections/keys/application-keys", &list); len(list.ApplicationKeys) != 1 || list.ApplicationKeys[0].Name != "metrics-writer" {
		t.Fatalf("list = %s", r.body)
	}
	var got managedkey.AppKey
	if k.getJSON("/connections/keys/application-keys/metrics-writer", &got); got.ApplicationKeyID != minted.ApplicationKeyID || !slices.Equal(got.Scopes, minted.Scopes) {
		t.Fatalf("get = %+v, want %+v", got, minted)
	}
	mustStatus(t, k.do("POST", "/connections/keys/application-keys", mintBody("metrics-writer", k.saID, []string{"metrics_read"})), http.StatusConflict)

	mustStatus(t, k.do("DELETE", "/connections/keys/application-keys/metrics-writer", ""), http.StatusNoContent)
	if _, ok := k.appKeyAt(minted.ApplicationKeyID); ok {
		t.Error("the deleted managed key is still at the simulator")
	}
	mustStatus(t, k.do("GET", "/connections/keys/application-keys/metrics-writer", ""), http.StatusNotFound)
	mustStatus(t, k.do("DELETE", "/connections/keys/application-keys/metrics-writer", ""), http.StatusNotFound)
	k.noKeyMaterial(doc.Key)
}

// TestDeleteKeepKeys leaves the Datadog key when asked to.
func TestDeleteKeepKeys(t *testing.T) {
	k := newKeysEnv(t)
	minted := k.mintAppKey("kept", k.saID, "metrics_read")
	mustStatus(t, k.do("DELETE", "/connections/keys/application-keys/kept?keepKeys=maybe", ""), http.StatusBadRequest)
	mustStatus(t, k.do("DELETE", "/connections/keys/application-keys/kept?keepKeys=true", ""), http.StatusNoContent)
	if _, ok := k.appKeyAt(minted.ApplicationKeyID); !ok {
		t.Error("keepKeys=true revoked the key")
	}
}

// TestMintRefusals checks the status, code and named field of each refusal.
func TestMintRefusals(t *testing.T) {
	k := newKeysEnv(t)
	tests := []struct {
		name, path, body string
		status           int
		code, field      string
	}{
		{"unscoped without allowUnscoped", "/connections/keys/application-keys", mintBody("w", k.saID, []string{}),
			400, "invalid_request", "scopes"},
		{"missing service account", "/connections/keys/application-keys", `{"name":"w","scopes":["metrics_read"]}`,
			400, "invalid_request", "serviceAccountId"},
		{"bad name", "/connections/keys/application-keys", mintBody("Bad_Name", k.saID, []string{"metrics_read"}),
			400, "invalid_request", "name"},
		{"bad schedule", "/connections/keys/application-keys", `{"name":"w","serviceAccountId":"` + k.saID + `","scopes":["metrics_read"],"rotation":{"schedule":"often"}}`,
			400, "invalid_request", "rotation.schedule"},
		{"unknown field", "/connections/keys/application-keys", `{"name":"w","serviceAccountId":"` + k.saID + `","scopes":["metrics_read"],"owner":"x"}`,
			400, "invalid_request", "body"},
		{"human user", "/connections/keys/application-keys", mintBody("w", k.adminID, []string{"metrics_read"}),
			422, "service_account_invalid", ""},
		{"scope the service account lacks", "/connections/keys/application-keys", mintBody("w", k.otherSAID, []string{"dashboards_read"}),
			422, "datadog_rejected", ""},
		{"no such connection", "/connections/absent/application-keys", mintBody("w", k.saID, []string{"metrics_read"}),
			404, "not_found", ""},
		{"api key with a bad revokePrevious", "/connections/keys/api-keys", `{"name":"agent","rotation":{"revokePrevious":"never"}}`,
			400, "invalid_request", "rotation.revokePrevious"},
		{"api key with maxGrace of another policy", "/connections/keys/api-keys", `{"name":"agent","rotation":{"revokePrevious":"immediately","maxGrace":"2h"}}`,
			400, "invalid_request", "rotation.maxGrace"},
		{"api key unknown field", "/connections/keys/api-keys", `{"name":"agent","scopes":[]}`,
			400, "invalid_request", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := k.do("POST", tt.path, tt.body)
			mustStatus(t, r, tt.status)
			var env errorEnvelope
			r.json(t, &env)
			if env.Error.Code != tt.code {
				t.Errorf("code = %q, want %q", env.Error.Code, tt.code)
			}
			if tt.field == "" {
				return
			}
			// Exactly the bad field: a problem's wording must not be
			// mistaken for a field of its own.
			if len(env.Error.Details) != 1 || env.Error.Details[0].Field != tt.field || env.Error.Details[0].Message == "" {
				t.Errorf("details %+v, want one naming %q", env.Error.Details, tt.field)
			}
		})
	}
	if keys := k.Simulator.Keys(); slices.ContainsFunc(keys, func(ki ddsim.KeyInfo) bool { return ki.OwnerID == k.saID || ki.OwnerID == k.otherSAID }) {
		t.Error("a refused mint left a key at the simulator")
	}
	k.noKeyMaterial()
}

// TestAllowedServiceAccounts sets the connection's allowed list with
// PATCH, mints only for listed accounts, and clears the list.
func TestAllowedServiceAccounts(t *testing.T) {
	k := newKeysEnv(t)
	r := k.do("PATCH", "/connections/keys", `{"allowedServiceAccounts":["`+strings.ToUpper(k.otherSAID)+`"]}`)
	mustStatus(t, r, http.StatusOK)
	var c connection.Connection
	r.json(t, &c)
	if !slices.Equal(c.AllowedServiceAccounts, []string{k.otherSAID}) {
		t.Fatalf("allowedServiceAccounts after PATCH = %v, want [%s]", c.AllowedServiceAccounts, k.otherSAID)
	}
	if got := k.connection("keys").AllowedServiceAccounts; !slices.Equal(got, []string{k.otherSAID}) {
		t.Fatalf("GET shows allowedServiceAccounts %v", got)
	}
	// New credentials rewrite the identity tags, never the allowed list.
	creds, _ := json.Marshal(map[string]any{"credentials": map[string]string{
		"url": "https://api.us5.datadoghq.com", "apiKey": k.apiKey, "applicationKey": k.managerKey}})
	r = k.do("PATCH", "/connections/keys", string(creds))
	mustStatus(t, r, http.StatusOK)
	var patched connection.Connection // fresh: decoding into c would keep its list
	r.json(t, &patched)
	if !slices.Equal(patched.AllowedServiceAccounts, []string{k.otherSAID}) || !slices.Equal(k.connection("keys").AllowedServiceAccounts, []string{k.otherSAID}) {
		t.Fatalf("new credentials changed allowedServiceAccounts to %v", patched.AllowedServiceAccounts)
	}

	r = k.do("POST", "/connections/keys/application-keys", mintBody("w", k.saID, []string{"metrics_read"}))
	mustStatus(t, r, http.StatusForbidden)
	var env errorEnvelope
	r.json(t, &env)
	if env.Error.Code != "service_account_not_allowed" {
		t.Errorf("code = %q", env.Error.Code)
	}
	k.mintAppKey("w", k.otherSAID, "metrics_read")

	r = k.do("PATCH", "/connections/keys", `{"allowedServiceAccounts":[]}`)
	mustStatus(t, r, http.StatusOK)
	if got := k.connection("keys").AllowedServiceAccounts; got != nil {
		t.Fatalf("[] left allowedServiceAccounts %v", got)
	}
	k.mintAppKey("w2", k.saID, "metrics_read")

	tooMany, _ := json.Marshal(map[string][]string{"allowedServiceAccounts": manyServiceAccounts(257)})
	invalid := []struct{ name, body, field string }{
		{"not a uuid", `{"allowedServiceAccounts":["checkout"]}`, "allowedServiceAccounts[0]"},
		{"more than 256", string(tooMany), "allowedServiceAccounts"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			r := k.do("PATCH", "/connections/keys", tt.body)
			mustStatus(t, r, http.StatusBadRequest)
			var env errorEnvelope
			r.json(t, &env)
			if len(env.Error.Details) != 1 || env.Error.Details[0].Field != tt.field {
				t.Errorf("details = %+v, want one naming %q", env.Error.Details, tt.field)
			}
		})
	}
	k.noKeyMaterial()
}

// manyServiceAccounts is n distinct service account ids.
func manyServiceAccounts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	return out
}

// TestManyAllowedServiceAccounts: a list too long for a tag (100 ids) is
// kept in the connection secret's settings version: the connection shows
// it whole, in GET and in the list, mints follow it, and the secret's
// current keys are untouched.
func TestManyAllowedServiceAccounts(t *testing.T) {
	k := newKeysEnv(t)
	allowed := append(manyServiceAccounts(99), k.saID)
	body, _ := json.Marshal(map[string][]string{"allowedServiceAccounts": allowed})
	r := k.do("PATCH", "/connections/keys", string(body))
	mustStatus(t, r, http.StatusOK)
	var patched connection.Connection
	r.json(t, &patched)
	if len(patched.AllowedServiceAccounts) != 100 || !slices.Equal(k.connection("keys").AllowedServiceAccounts, allowed) {
		t.Fatalf("allowedServiceAccounts after PATCH: %d, on GET %d, want 100", len(patched.AllowedServiceAccounts), len(k.connection("keys").AllowedServiceAccounts))
	}
	var page connection.Page
	k.getJSON("/connections", &page)
	if len(page.Connections) != 1 || len(page.Connections[0].AllowedServiceAccounts) != 100 {
		t.Fatalf("the list shows %+v, want the 100 allowed service accounts", page.Connections)
	}
	k.mintAppKey("allowed", k.saID, "metrics_read")
	r = k.do("POST", "/connections/keys/application-keys", mintBody("refused", k.otherSAID, []string{"metrics_read"}))
	mustStatus(t, r, http.StatusForbidden)
	if doc := k.currentDocument("keys"); doc.Key != k.managerKey {
		t.Fatal("the settings replaced the connection's current keys")
	}
}

// TestManagedAPIKeyLifecycle mints, lists, reads and deletes a managed API
// key; the stored key authenticates until the delete revokes it.
func TestManagedAPIKeyLifecycle(t *testing.T) {
	k := newKeysEnv(t)
	r := k.do("POST", "/connections/keys/api-keys", `{"name":"agent","rotation":{"schedule":"rate(7 days)"}}`)
	mustStatus(t, r, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/connections/keys/api-keys/agent" {
		t.Errorf("Location = %q", loc)
	}
	var minted managedkey.APIKey
	r.json(t, &minted)
	if minted.Name != "agent" || minted.APIKeyID == "" {
		t.Fatalf("minted = %+v", minted)
	}
	doc := k.keyDocument(secretkind.APIKey, minted.SecretName)
	if doc.KeyID != minted.APIKeyID || !k.Simulator.Authenticates(doc.Key, k.managerKey) {
		t.Fatal("the stored API key is not the minted one, or does not authenticate")
	}

	var list struct {
		APIKeys []managedkey.APIKey `json:"apiKeys"`
	}
	if r := k.getJSON("/connections/keys/api-keys", &list); len(list.APIKeys) != 1 || list.APIKeys[0].APIKeyID != minted.APIKeyID {
		t.Fatalf("list = %s", r.body)
	}
	mustStatus(t, k.do("GET", "/connections/keys/api-keys/agent", ""), http.StatusOK)
	mustStatus(t, k.do("DELETE", "/connections/keys/api-keys/agent", ""), http.StatusNoContent)
	if k.Simulator.Authenticates(doc.APIKey, k.managerKey) {
		t.Error("the deleted managed API key still authenticates")
	}
	mustStatus(t, k.do("GET", "/connections/keys/api-keys/agent", ""), http.StatusNotFound)
	if !k.Simulator.Authenticates(k.apiKey, k.managerKey) {
		t.Error("deleting the managed API key revoked the connection's own API key")
	}
	k.noKeyMaterial(doc.APIKey)
}

// TestEmptyListings answers [] (not null) for a connection without keys.
func TestEmptyListings(t *testing.T) {
	k := newKeysEnv(t)
	for _, path := range []string{"/connections/keys/application-keys", "/connections/keys/api-keys"} {
		r := k.do("GET", path, "")
		mustStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), "[]") {
			t.Errorf("GET %s = %s, want an empty array", path, r.body)
		}
	}
}

// TestDeleteConnectionWithManagedKeys: a connection whose managed keys
// still need its key cannot be deleted until they are.
func TestDeleteConnectionWithManagedKeys(t *testing.T) {
	k := newKeysEnv(t)
	k.mintAppKey("app", k.saID, "metrics_read")
	mustStatus(t, k.do("POST", "/connections/keys/api-keys", `{"name":"agent"}`), http.StatusCreated)
	r := k.do("DELETE", "/connections/keys", "")
	mustStatus(t, r, http.StatusConflict)
	var env errorEnvelope
	r.json(t, &env)
	if env.Error.Code != httpapi.CodeConnectionInUse || !strings.Contains(env.Error.Message, "2 managed key") {
		t.Fatalf("DELETE answered %s", r.body)
	}
	mustStatus(t, k.do("DELETE", "/connections/keys/application-keys/app", ""), http.StatusNoContent)
	mustStatus(t, k.do("DELETE", "/connections/keys?force=true", ""), http.StatusConflict)
	mustStatus(t, k.do("DELETE", "/connections/keys/api-keys/agent", ""), http.StatusNoContent)
	mustStatus(t, k.do("DELETE", "/connections/keys", ""), http.StatusOK)
}

// TestDeleteRacingMints deletes a connection while mints of it run: either
// the delete loses (409 connection_in_use: it counted a mint in flight) or
// the mints it overtook lose (they find the connection gone). Whatever the
// interleaving, no mint answers 201 for a connection that is gone, and no
// key is left in Datadog without a secret.
func TestDeleteRacingMints(t *testing.T) {
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			k := newKeysEnv(t)
			keysBefore := len(k.Simulator.Keys())
			const n = 8
			var wg sync.WaitGroup
			statuses := make([]int, n)
			for i := range n {
				wg.Go(func() {
					statuses[i] = k.env.do("POST", "/connections/keys/application-keys",
						mintBody(fmt.Sprintf("racer-%d", i), k.saID, []string{"metrics_read"})).status
				})
			}
			del := k.env.do("DELETE", "/connections/keys?force=true", "")
			wg.Wait()
			minted := 0
			for _, s := range statuses {
				switch s {
				case http.StatusCreated:
					minted++
				case http.StatusNotFound:
				default:
					t.Fatalf("a mint answered %d, want 201 or 404", s)
				}
			}
			switch del.status {
			case http.StatusOK:
				if minted > 0 {
					t.Fatalf("the connection was deleted and %d mints still answered 201", minted)
				}
			case http.StatusConflict:
			default:
				t.Fatalf("the delete answered %d: %s", del.status, del.body)
			}
			// Every key the mints created is held by a managed key's secret.
			keys, err := k.ManagedKeys.CountManagedKeys(context.Background(), "keys")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(k.Simulator.Keys()) - keysBefore; got != keys || keys != minted {
				t.Fatalf("%d new keys in Datadog, %d managed keys, %d mints answered 201", got, keys, minted)
			}
		})
	}
}
