package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ddconn/ddconn/pkg/connection"
)

// POST /connections
func (a *api) create(c creator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := jsonBody(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		in, err := decodeCreate(body)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		conn, err := c.Create(r.Context(), in)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/connections/"+url.PathEscape(conn.Name))
		a.writeJSON(w, r, http.StatusCreated, conn)
	}
}

// POST /connections/validate
func (a *api) validateCredentials(v validator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := jsonBody(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		in, err := decodeValidate(body)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK)(v.ValidateCredentials(r.Context(), in))
	}
}

// POST /connections/{name}/validate
func (a *api) validateStored(v validator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusOK)(v.ValidateStored(r.Context(), r.PathValue("name")))
	}
}

// serviceAccountList is the body of GET /connections/{name}/service-accounts.
type serviceAccountList struct {
	ServiceAccounts []connection.ServiceAccount `json:"serviceAccounts"`
}

// GET /connections/{name}/service-accounts
func (a *api) serviceAccounts(v validator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sas, err := v.ServiceAccounts(r.Context(), r.PathValue("name"))
		a.respond(w, r, http.StatusOK)(serviceAccountList{ServiceAccounts: sas}, err)
	}
}

// GET /connections?limit=&cursor=
func (a *api) list(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 0
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				a.writeError(w, r, badRequest(CodeInvalidRequest, "the request is invalid",
					connection.FieldError{Field: "limit", Message: "must be a whole number"}))
				return
			}
			if n == 0 {
				// The service reads 0 as "no limit given"; a limit
				// given as 0 is out of range like any other.
				a.writeError(w, r, badRequest(CodeInvalidRequest, "the request is invalid",
					connection.FieldError{Field: "limit", Message: connection.LimitRule}))
				return
			}
			limit = n
		}
		a.respond(w, r, http.StatusOK)(m.List(r.Context(), limit, q.Get("cursor")))
	}
}

// GET /connections/{name}
func (a *api) get(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusOK)(m.Get(r.Context(), r.PathValue("name")))
	}
}

// PATCH /connections/{name}
func (a *api) update(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := jsonBody(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		in, err := decodeUpdate(body)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK)(m.Update(r.Context(), r.PathValue("name"), in))
	}
}

// DELETE /connections/{name}?force=true&keepKeys=true
func (a *api) delete(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		force, err := boolQuery(r, "force")
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		keep, err := boolQuery(r, "keepKeys")
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK)(m.Delete(r.Context(), r.PathValue("name"), force, keep))
	}
}

// respond returns a function that answers with a service call's result,
// so handlers read a.respond(w, r, 200)(svc.Get(ctx, name)).
func (a *api) respond(w http.ResponseWriter, r *http.Request, status int) func(any, error) {
	return func(v any, err error) {
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.writeJSON(w, r, status, v)
	}
}

// PUT /connections/{name}/rotation
func (a *api) enableRotation(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := jsonBody(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		in, err := decodeRotation(body)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK)(m.EnableRotation(r.Context(), r.PathValue("name"), in))
	}
}

// DELETE /connections/{name}/rotation
func (a *api) disableRotation(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusOK)(m.DisableRotation(r.Context(), r.PathValue("name")))
	}
}

// POST /connections/{name}/rotate
func (a *api) rotateNow(m manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, http.StatusAccepted)(m.RotateNow(r.Context(), r.PathValue("name")))
	}
}
