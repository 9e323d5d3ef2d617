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
	Update(ctx context.Context, conn, name string, in managedkey.UpdateInput) (managedkey.AppKey, error)
	Delete(ctx context.Context, conn, name string, keepKeys bool) error
}

// APIKeys serves the managed API-key routes; *managedkey.Service
// implements it.
type APIKeys interface {
	MintAPIKey(ctx context.Context, conn string, in managedkey.APIKeyInput) (managedkey.APIKey, error)
	ListAPIKeys(ctx context.Context, conn string) ([]managedkey.APIKey, error)
	GetAPIKey(ctx context.Context, conn, name string) (managedkey.APIKey, error)
	UpdateAPIKey(ctx context.Context, conn, name string, in managedkey.UpdateInput) (managedkey.APIKey, error)
	DeleteAPIKey(ctx context.Context, conn, name string, keepKeys bool) error
}

// ManagedKeys serves every managed-key route of the manage function (see
// Options.ManagedKeys).
type ManagedKeys interface {
	AppKeys
	APIKeys
}

var _ ManagedKeys = (*managedkey.Service)(nil)

// keyCollection is one kind of managed key as the API serves it: its path
// segment, the field its listing is under, and the service's calls. Both
// kinds' routes are this one set of handlers.
type keyCollection[In, Out any] struct {
	path, listField string
	mint            func(ctx context.Context, conn string, in In) (Out, error)
	list            func(ctx context.Context, conn string) ([]Out, error)
	get             func(ctx context.Context, conn, name string) (Out, error)
	update          func(ctx context.Context, conn, name string, in managedkey.UpdateInput) (Out, error)
	del             func(ctx context.Context, conn, name string, keepKeys bool) error
	// name is the minted key's name, for its Location.
	name func(Out) string
}

// managedKeyRoutes are the manage function's managed-key routes. Without a
// service (Options.ManagedKeys nil) they exist but answer 503, so the route
// table stays the same in every deployment.
func (a *api) managedKeyRoutes(k ManagedKeys) handlers {
	if k == nil {
		k = unconfiguredKeys{}
	}
	h := handlers{}
	addKeyRoutes(a, h, keyCollection[managedkey.MintInput, managedkey.AppKey]{
		path: "application-keys", listField: "applicationKeys",
		mint: k.Mint, list: k.List, get: k.Get, update: k.Update, del: k.Delete,
		name: func(k managedkey.AppKey) string { return k.Name },
	})
	addKeyRoutes(a, h, keyCollection[managedkey.APIKeyInput, managedkey.APIKey]{
		path: "api-keys", listField: "apiKeys",
		mint: k.MintAPIKey, list: k.ListAPIKeys, get: k.GetAPIKey, update: k.UpdateAPIKey, del: k.DeleteAPIKey,
		name: func(k managedkey.APIKey) string { return k.Name },
	})
	return h
}

// addKeyRoutes adds c's five routes to h:
//
//	POST   /connections/{name}/<path>              mint: 201 with Location
//	GET    /connections/{name}/<path>              list: {"<listField>": [...]}
//	GET    /connections/{name}/<path>/{key}        get
//	PATCH  /connections/{name}/<path>/{key}        {"readers": [...]}
//	DELETE /connections/{name}/<path>/{key}        ?keepKeys=true; 204
func addKeyRoutes[In, Out any](a *api, h handlers, c keyCollection[In, Out]) {
	base := "/connections/{name}/" + c.path
	h["POST "+base] = func(w http.ResponseWriter, r *http.Request) {
		var in In
		if err := a.decodeInto(w, r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
		conn := r.PathValue("name")
		key, err := c.mint(r.Context(), conn, in)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", keyLocation(conn, c.path, c.name(key)))
		a.writeJSON(w, r, http.StatusCreated, key)
	}
	h["GET "+base] = func(w http.ResponseWriter, r *http.Request) {
		keys, err := c.list(r.Context(), r.PathValue("name"))
		a.respond(w, r, http.StatusOK)(map[string][]Out{c.listField: nonNil(keys)}, err)
	}
	h["GET "+base+"/{key}"] = func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusOK)(c.get(r.Context(), r.PathValue("name"), r.PathValue("key")))
	}
	h["PATCH "+base+"/{key}"] = func(w http.ResponseWriter, r *http.Request) {
		var in managedkey.UpdateInput
		if err := a.decodeInto(w, r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK)(c.update(r.Context(), r.PathValue("name"), r.PathValue("key"), in))
	}
	h["DELETE "+base+"/{key}"] = func(w http.ResponseWriter, r *http.Request) {
		keep, err := boolQuery(r, "keepKeys")
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if err := c.del(r.Context(), r.PathValue("name"), r.PathValue("key"), keep); err != nil {
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
func (unconfiguredKeys) Update(context.Context, string, string, managedkey.UpdateInput) (managedkey.AppKey, error) {
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
func (unconfiguredKeys) UpdateAPIKey(context.Context, string, string, managedkey.UpdateInput) (managedkey.APIKey, error) {
	return managedkey.APIKey{}, errKeysUnconfigured
}
func (unconfiguredKeys) DeleteAPIKey(context.Context, string, string, bool) error {
	return errKeysUnconfigured
}
