package ddsim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// reply is a response built while s.mu is held and written after it is
// released, so a slow client never blocks the simulator. body must not
// reference simulator state.
type reply struct {
	status int
	body   any // nil: no body
	header http.Header
}

// apiErrors is Datadog's APIErrorResponse: {"errors":["…"]}.
type apiErrors struct {
	Errors []string `json:"errors"`
}

// jsonAPIErrors is Datadog's JSONAPIErrorResponse, used by GET /api/v2/validate.
type jsonAPIErrors struct {
	Errors []jsonAPIError `json:"errors"`
}

type jsonAPIError struct {
	Status string `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
}

func ok(body any) reply      { return reply{status: http.StatusOK, body: body} }
func created(body any) reply { return reply{status: http.StatusCreated, body: body} }
func noContent() reply       { return reply{status: http.StatusNoContent} }

func errorReply(status int, msg string) reply {
	return reply{status: status, body: apiErrors{Errors: []string{msg}}}
}

func badRequest(msg string) reply { return errorReply(http.StatusBadRequest, msg) }
func notFound(msg string) reply   { return errorReply(http.StatusNotFound, msg) }

// forbidden is the single answer for bad credentials and missing permissions:
// Datadog does not tell the two apart.
func forbidden() reply { return errorReply(http.StatusForbidden, "Forbidden") }

func jsonAPIForbidden() reply {
	return reply{status: http.StatusForbidden, body: jsonAPIErrors{Errors: []jsonAPIError{{
		Status: strconv.Itoa(http.StatusForbidden),
		Title:  "Forbidden",
		Detail: "API key is invalid",
	}}}}
}

// write sends rep. Bodies are JSON; 204 carries neither body nor Content-Type.
func (rep reply) write(w http.ResponseWriter) {
	for name, values := range rep.header {
		w.Header()[name] = values
	}
	if rep.body == nil || !bodyAllowed(rep.status) {
		w.WriteHeader(rep.status)
		return
	}
	data, err := json.Marshal(rep.body)
	if err != nil { // only programming errors reach this: bodies are plain structs
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"errors":["Internal Server Error"]}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(data)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
