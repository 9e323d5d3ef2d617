package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

// AppKeys serves the managed application-key routes; *managedkey.Service
// implements it.
type AppKeys interface {
	Mint(ctx context.Context, conn string, in managedkey.MintInput) (managedkey.AppKey, error)
	List(ctx context.Context, conn string) ([]managedkey.AppKey, error)
	Get(ctx context.Context, conn, name string) (managedkey.AppKey, error)
	Delete(ctx context.Context, conn, name string, keepKeys bool) error
}

// APIKeys serves the managed API-key routes; *managedkey.Service
// implements it.
type APIKeys interface {
	MintAPIKey(ctx context.Context, conn string, in managedkey.APIKeyInput) (managedkey.APIKey, error)
	ListAPIKeys(ctx context.Context, conn string) ([]managedkey.APIKey, error)
	GetAPIKey(ctx context.Context, conn, name string) (managedkey.APIKey, error)
	DeleteAPIKey(ctx context.Context, conn, name string, keepKeys bool) error
}

// ManagedKeys serves every managed-key route of the manage function (see
// Options.ManagedKeys).
type ManagedKeys interface {
	AppKeys
	APIKeys
}

var _ ManagedKeys = (*managedkey.Service)(nil)

// appKeyList is the body of GET /connections/{name}/application-keys.
type appKeyList struct {
	ApplicationKeys []managedkey.AppKey `json:"applicationKeys"`
}

// apiKeyList is the body of GET /connections/{name}/api-keys.
type apiKeyList struct {
	APIKeys []managedkey.APIKey `json:"apiKeys"`
}

// managedKeyRoutes are the manage function's managed-key routes. Without a
// service (Options.ManagedKeys nil) they exist but answer 503, so the route
// table stays the same in every deployment.
func (a *api) managedKeyRoutes(k ManagedKeys) handlers {
	if k == nil {
		k = unconfiguredKeys{}
	}
	return handlers{
		"POST /connections/{name}/application-keys":         a.mintAppKey(k),
		"GET /connections/{name}/application-keys":          a.listAppKeys(k),
		"GET /connections/{name}/application-keys/{key}":    a.getAppKey(k),
		"DELETE /connections/{name}/application-keys/{key}": a.deleteManagedKey(k.Delete),

		"POST /connections/{name}/api-keys":         a.mintAPIKey(k),
		"GET /connections/{name}/api-keys":          a.listAPIKeys(k),
		"GET /connections/{name}/api-keys/{key}":    a.getAPIKey(k),
		"DELETE /connections/{name}/api-keys/{key}": a.deleteManagedKey(k.DeleteAPIKey),
	}
}

// POST /connections/{name}/application-keys
func (a *api) mintAppKey(k AppKeys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in managedkey.MintInput
		if err := a.decodeInto(w, r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
		key, err := k.Mint(r.Context(), r.PathValue("name"), in)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", keyLocation(key.Connection, "application-keys", key.Name))
		a.writeJSON(w, r, http.StatusCreated, key)
	}
}

// GET /connections/{name}/application-keys
func (a *api) listAppKeys(k AppKeys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keys, err := k.List(r.Context(), r.PathValue("name"))
		a.respond(w, r, http.StatusOK)(appKeyList{ApplicationKeys: nonNil(keys)}, err)
	}
}

// GET /connections/{name}/application-keys/{key}
func (a *api) getAppKey(k AppKeys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusOK)(k.Get(r.Context(), r.PathValue("name"), r.PathValue("key")))
	}
}

// POST /connections/{name}/api-keys
func (a *api) mintAPIKey(k APIKeys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in managedkey.APIKeyInput
		if err := a.decodeInto(w, r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
		key, err := k.MintAPIKey(r.Context(), r.PathValue("name"), in)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", keyLocation(key.Connection, "api-keys", key.Name))
		a.writeJSON(w, r, http.StatusCreated, key)
	}
}

// GET /connections/{name}/api-keys
func (a *api) listAPIKeys(k APIKeys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keys, err := k.ListAPIKeys(r.Context(), r.PathValue("name"))
		a.respond(w, r, http.StatusOK)(apiKeyList{APIKeys: nonNil(keys)}, err)
	}
}

// GET /connections/{name}/api-keys/{key}
func (a *api) getAPIKey(k APIKeys) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusOK)(k.GetAPIKey(r.Context(), r.PathValue("name"), r.PathValue("key")))
	}
}

// DELETE /connections/{name}/{application-keys|api-keys}/{key}?keepKeys=true
// answers 204: the key is gone, there is nothing left to show.
func (a *api) deleteManagedKey(del func(ctx context.Context, conn, name string, keepKeys bool) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keep, err := boolQuery(r, "keepKeys")
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if err := del(r.Context(), r.PathValue("name"), r.PathValue("key"), keep); err != nil {
			a.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// decodeInto reads a bounded JSON body into v, rejecting unknown fields.
func (a *api) decodeInto(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := jsonBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// boolQuery parses the optional boolean query parameter name (false when
// absent).
func boolQuery(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest(CodeInvalidRequest, "the request is invalid",
			connection.FieldError{Field: name, Message: "must be true or false"})
	}
	return b, nil
}

func keyLocation(conn, collection, name string) string {
	return "/connections/" + url.PathEscape(conn) + "/" + collection + "/" + url.PathEscape(name)
}

// nonNil makes an empty listing encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// unconfiguredKeys stands in when the handler was built without a
// managed-key service: every call fails with errKeysUnconfigured.
type unconfiguredKeys struct{}

var errKeysUnconfigured = &requestError{status: http.StatusServiceUnavailable, code: CodeManagedKeysUnavailable,
	message: "managed keys are not configured in this deployment"}

func (unconfiguredKeys) Mint(context.Context, string, managedkey.MintInput) (managedkey.AppKey, error) {
	return managedkey.AppKey{}, errKeysUnconfigured
}
func (unconfiguredKeys) List(context.Context, string) ([]managedkey.AppKey, error) {
	return nil, errKeysUnconfigured
}
func (unconfiguredKeys) Get(context.Context, string, string) (managedkey.AppKey, error) {
	return managedkey.AppKey{}, errKeysUnconfigured
}
func (unconfiguredKeys) Delete(context.Context, string, string, bool) error {
	return errKeysUnconfigured
}
func (unconfiguredKeys) MintAPIKey(context.Context, string, managedkey.APIKeyInput) (managedkey.APIKey, error) {
	return managedkey.APIKey{}, errKeysUnconfigured
}
func (unconfiguredKeys) ListAPIKeys(context.Context, string) ([]managedkey.APIKey, error) {
	return nil, errKeysUnconfigured
}
func (unconfiguredKeys) GetAPIKey(context.Context, string, string) (managedkey.APIKey, error) {
	return managedkey.APIKey{}, errKeysUnconfigured
}
func (unconfiguredKeys) DeleteAPIKey(context.Context, string, string, bool) error {
	return errKeysUnconfigured
}
