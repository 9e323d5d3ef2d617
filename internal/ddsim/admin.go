package ddsim

import (
	"encoding/json"
	"io"
	"net/http"
)

// adminPrefix starts the simulator's own paths, which black-box tests use.
// They need no credentials, are never faulted and do not count as API
// requests.
const adminPrefix = "/_sim/"

func (s *Simulator) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/keys", s.adminKeys)
	mux.HandleFunc("GET /_sim/faults", s.adminListFaults)
	mux.HandleFunc("POST /_sim/faults", s.adminAddFault)
	mux.HandleFunc("DELETE /_sim/faults", s.adminClearFaults)
	mux.HandleFunc("GET /_sim/ratelimit", s.adminGetRateLimit)
	mux.HandleFunc("PUT /_sim/ratelimit", s.adminSetRateLimit)
}

// adminKeys answers GET /_sim/keys with every application key as a JSON
// array of KeyInfo: id, owner, name, last4, scopes, created_at, no secret.
func (s *Simulator) adminKeys(w http.ResponseWriter, _ *http.Request) {
	ok(s.Keys()).write(w)
}

// adminListFaults answers GET /_sim/faults with the queued faults.
func (s *Simulator) adminListFaults(w http.ResponseWriter, _ *http.Request) {
	ok(s.Faults()).write(w)
}

// adminAddFault queues the Fault in the body and answers 204.
func (s *Simulator) adminAddFault(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		badRequest("request body too large or unreadable").write(w)
		return
	}
	var f Fault
	if err := json.Unmarshal(body, &f); err != nil {
		badRequest(`body must be {"method","pathPrefix","status","count","delayMs","afterChange"} with non-negative numbers`).write(w)
		return
	}
	s.AddFault(f)
	noContent().write(w)
}

// adminClearFaults removes every queued fault and answers 204.
func (s *Simulator) adminClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	noContent().write(w)
}

// adminGetRateLimit answers GET /_sim/ratelimit with the RateLimit in force.
func (s *Simulator) adminGetRateLimit(w http.ResponseWriter, _ *http.Request) {
	ok(s.CurrentRateLimit()).write(w)
}

// adminSetRateLimit replaces the rate limit with the RateLimit in the body
// and answers 204.
func (s *Simulator) adminSetRateLimit(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		badRequest("request body too large or unreadable").write(w)
		return
	}
	var rl RateLimit
	if err := json.Unmarshal(body, &rl); err != nil {
		badRequest(`body must be {"limit","periodSeconds"} with non-negative numbers`).write(w)
		return
	}
	s.SetRateLimit(rl)
	noContent().write(w)
}
