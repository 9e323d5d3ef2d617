package ddsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Fault makes matching requests fail or slow down. It matches when the method
// equals Method (case-insensitive; empty matches any) and the path starts with
// PathPrefix. Each match uses up one of Count (0 means 1); the fault is
// removed when none are left. The simulator first waits Delay, then answers
// Status with an errors body, or, when Status is 0, handles the request
// normally. Statuses outside 200–599 are served as 500.
//
// JSON form (POST /_sim/faults):
// {"method":"DELETE","pathPrefix":"/api/v2/service_accounts/","status":500,"count":1,"delayMs":0}
type Fault struct {
	Method, PathPrefix string
	Status, Count      int
	Delay              time.Duration
}

// faultJSON is Fault's wire form, with the delay in milliseconds.
type faultJSON struct {
	Method     string `json:"method"`
	PathPrefix string `json:"pathPrefix"`
	Status     int    `json:"status"`
	Count      int    `json:"count"`
	DelayMs    int64  `json:"delayMs"`
}

// MarshalJSON encodes f in its admin-API form, with delayMs in milliseconds.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{
		Method: f.Method, PathPrefix: f.PathPrefix,
		Status: f.Status, Count: f.Count, DelayMs: f.Delay.Milliseconds(),
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

// applyFault delays and possibly answers r. It reports whether it wrote the
// response. The delay is real time (it simulates latency, not logic time)
// and ends early when the client gives up.
func (s *Simulator) applyFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.takeFault(r.Method, r.URL.Path)
	if !ok {
		return false
	}
	if f.Delay > 0 {
		timer := time.NewTimer(f.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	status := f.Status
	if status < 200 || status > 599 {
		status = http.StatusInternalServerError
	}
	errorReply(status, "Simulated fault").write(w)
	return true
}
