package smemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/ddconn/ddconn/pkg/duration"
)

// faultJSON is the wire form of a Fault on /_emu/faults.
type faultJSON struct {
	Operation string `json:"operation"`
	Error     string `json:"error"`
	Count     int    `json:"count"`
	DelayMs   int64  `json:"delayMs"`
}

type clockJSON struct {
	Now    time.Time `json:"now"`
	Offset string    `json:"offset"`
}

var errorTypePattern = regexp.MustCompile(`^[A-Za-z]*$`)

// serveAdmin answers the emulator's own endpoints:
//
//	POST   /_emu/faults {"operation":"PutSecretValue","error":"InternalServiceError","count":1,"delayMs":0}
//	GET    /_emu/faults  the armed faults
//	DELETE /_emu/faults  disarm all
//	POST   /_emu/clock  {"advance":"24h"} (Go durations, plus "7d" for days)
//	GET    /_emu/clock   the emulator's current time and offset
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_emu/faults" && r.Method == http.MethodPost:
		e.postFault(w, r)
	case r.URL.Path == "/_emu/faults" && r.Method == http.MethodGet:
		e.writeFaults(w, http.StatusOK)
	case r.URL.Path == "/_emu/faults" && r.Method == http.MethodDelete:
		e.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_emu/clock" && r.Method == http.MethodPost:
		e.postClock(w, r)
	case r.URL.Path == "/_emu/clock" && r.Method == http.MethodGet:
		e.writeClock(w)
	default:
		writeAdminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s %s", r.Method, r.URL.Path))
	}
}

func (e *Emulator) postFault(w http.ResponseWriter, r *http.Request) {
	var in faultJSON
	if err := decodeAdmin(r, &in); err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	if !errorTypePattern.MatchString(in.Error) || in.Count < 0 || in.DelayMs < 0 {
		writeAdminError(w, http.StatusBadRequest, fmt.Errorf("want error as a bare __type (letters only), count >= 0, delayMs >= 0"))
		return
	}
	e.AddFault(Fault{Operation: in.Operation, Error: in.Error, Count: in.Count, Delay: time.Duration(in.DelayMs) * time.Millisecond})
	e.writeFaults(w, http.StatusCreated)
}

func (e *Emulator) writeFaults(w http.ResponseWriter, status int) {
	out := []faultJSON{}
	for _, f := range e.Faults() {
		out = append(out, faultJSON{Operation: f.Operation, Error: f.Error, Count: f.Count, DelayMs: f.Delay.Milliseconds()})
	}
	writeJSON(w, status, "application/json", map[string]any{"faults": out})
}

func (e *Emulator) postClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Advance string `json:"advance"`
	}
	if err := decodeAdmin(r, &in); err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	d, err := parseAdvance(in.Advance)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, err)
		return
	}
	e.Advance(d)
	e.writeClock(w)
}

func (e *Emulator) writeClock(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, "application/json", clockJSON{Now: e.clock.Now(), Offset: e.clock.ahead().String()})
}

// parseAdvance reads a positive Go duration ("36h", "90m") or whole days ("7d").
func parseAdvance(s string) (time.Duration, error) {
	d, err := duration.Parse(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("advance %q: want a positive duration such as \"24h\" or \"7d\"", s)
	}
	return d, nil
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding request body: %w", err)
	}
	return nil
}

func writeAdminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, "application/json", map[string]string{"error": err.Error()})
}
