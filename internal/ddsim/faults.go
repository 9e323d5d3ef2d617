package ddsim

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Fault makes matching requests fail or slow down. It matches when the method
// equals Method (case-insensitive; empty matches any) and the path starts with
// PathPrefix. Each match uses up one of Count (0 means 1); the fault is
// removed when none are left. Statuses outside 200–599 are served as 500.
//
// Without AfterChange, the simulator first waits Delay, then answers Status
// with an errors body, or, when Status is 0, handles the request normally.
//
// With AfterChange, the request is carried out (a create creates, a delete
// deletes) and its answer is lost: after Delay (a client with a shorter
// timeout gives up first: a timeout) the simulator answers Status with an
// errors body (a 5xx after the change), or, when Status is 0, resets the
// connection without answering.
//
// A fault answering 429 carries the X-RateLimit-* headers of an exhausted
// window (see rateLimited).
//
// JSON form (POST /_sim/faults):
// {"method":"DELETE","pathPrefix":"/api/v2/service_accounts/","status":500,"count":1,"delayMs":0,"afterChange":false}
type Fault struct {
	Method, PathPrefix string
	Status, Count      int
	Delay              time.Duration
	AfterChange        bool
}

// faultJSON is Fault's wire form, with the delay in milliseconds.
type faultJSON struct {
	Method      string `json:"method"`
	PathPrefix  string `json:"pathPrefix"`
	Status      int    `json:"status"`
	Count       int    `json:"count"`
	DelayMs     int64  `json:"delayMs"`
	AfterChange bool   `json:"afterChange"`
}

// MarshalJSON encodes f in its admin-API form, with delayMs in milliseconds.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{
		Method: f.Method, PathPrefix: f.PathPrefix,
		Status: f.Status, Count: f.Count, DelayMs: f.Delay.Milliseconds(), AfterChange: f.AfterChange,
	})
}

// UnmarshalJSON decodes the admin-API form and rejects negative values.
func (f *Fault) UnmarshalJSON(data []byte) error {
	var j faultJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.Status < 0 || j.Count < 0 || j.DelayMs < 0 {
		return fmt.Errorf("decoding fault: status, count and delayMs must not be negative")
	}
	*f = Fault{
		Method: j.Method, PathPrefix: j.PathPrefix,
		Status: j.Status, Count: j.Count, Delay: time.Duration(j.DelayMs) * time.Millisecond,
		AfterChange: j.AfterChange,
	}
	return nil
}

func (f Fault) matches(method, path string) bool {
	return (f.Method == "" || strings.EqualFold(f.Method, method)) &&
		strings.HasPrefix(path, f.PathPrefix)
}

// AddFault queues f after any faults already queued; the first match wins.
func (s *Simulator) AddFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every queued fault.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the queued faults with their remaining counts.
func (s *Simulator) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault(nil), s.faults...)
}

// takeFault consumes one use of the first fault matching the request.
func (s *Simulator) takeFault(method, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		if !s.faults[i].matches(method, path) {
			continue
		}
		f := s.faults[i]
		s.faults[i].Count--
		if s.faults[i].Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f, true
	}
	return Fault{}, false
}

// serveFaulted serves r under fault f: before the request is handled, or,
// with f.AfterChange, after it was handled and its answer dropped.
func (s *Simulator) serveFaulted(f Fault, w http.ResponseWriter, r *http.Request) {
	if f.AfterChange {
		s.mux.ServeHTTP(discard{header: http.Header{}}, r)
	}
	if !wait(r, f.Delay) {
		return
	}
	switch {
	case f.Status != 0:
		s.faultReply(f.Status).write(w)
	case f.AfterChange:
		resetConnection(w)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

// wait sleeps d in real time (it simulates latency, not logic time). It
// reports false when the client gave up first.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// faultReply is the answer of a fault with a status.
func (s *Simulator) faultReply(status int) reply {
	if status < 200 || status > 599 {
		status = http.StatusInternalServerError
	}
	if status == http.StatusTooManyRequests {
		return s.rateLimited()
	}
	return errorReply(status, "Simulated fault")
}

// resetConnection drops the client's connection without an answer: a TCP
// reset where the connection can be taken over, an aborted response
// otherwise (HTTP/2).
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST rather than FIN
	}
	_ = conn.Close()
}

// discard is the ResponseWriter of a request whose answer is lost.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
