package smemu

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Fault makes the next Count calls of Operation fail with Error, after Delay.
type Fault struct {
	Operation string        // e.g. "PutSecretValue"; "" or "*" = any operation
	Error     string        // __type to answer, e.g. "ThrottlingException", "InternalServiceError"; "" = latency only
	Count     int           // calls affected; 0 means 1
	Delay     time.Duration // added before answering
}

func (f Fault) matches(op string) bool {
	return f.Operation == "" || f.Operation == "*" || f.Operation == op
}

// faultMessages are the messages Secrets Manager pairs with error types
// that are usually injected rather than caused.
var faultMessages = map[string]string{
	typeThrottling: "Rate exceeded",
	typeInternal:   "An error occurred on the server side.",
}

// faultError is the error an injected fault answers with.
func faultError(typ string) *apiError {
	msg, ok := faultMessages[typ]
	if !ok {
		msg = fmt.Sprintf("Injected %s (smemu fault injection).", typ)
	}
	return newAPIError(typ, "%s", msg)
}

// faultSet holds the armed faults, each with the calls it still affects.
type faultSet struct {
	mu     sync.Mutex
	armed  []Fault
	remain []int
}

func (s *faultSet) add(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := f.Count
	if n <= 0 {
		n = 1
	}
	s.armed = append(s.armed, f)
	s.remain = append(s.remain, n)
}

func (s *faultSet) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed, s.remain = nil, nil
}

// list returns the armed faults with Count set to the calls left.
func (s *faultSet) list() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.armed)
	for i := range out {
		out[i].Count = s.remain[i]
	}
	return out
}

// take consumes one call of the first fault armed for op.
func (s *faultSet) take(op string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.armed {
		if !f.matches(op) {
			continue
		}
		s.remain[i]--
		if s.remain[i] == 0 {
			s.armed = slices.Delete(s.armed, i, i+1)
			s.remain = slices.Delete(s.remain, i, i+1)
		}
		return f, true
	}
	return Fault{}, false
}

// apply waits out the delay of the fault armed for op, if any, and returns
// the error it injects.
func (s *faultSet) apply(ctx context.Context, op string) error {
	f, ok := s.take(op)
	if !ok {
		return nil
	}
	if err := sleep(ctx, f.Delay); err != nil {
		return err
	}
	if f.Error == "" {
		return nil
	}
	return faultError(f.Error)
}

// sleep waits d in real time (latency and delays are simulated in real
// time, not on the emulator's clock); it returns ctx's error if ctx ends
// first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
