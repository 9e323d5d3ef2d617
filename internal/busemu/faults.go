package busemu

import (
	"errors"
	"sync"
)

// Fault is a failure FailNext injects into PutEvents calls.
type Fault int

// The faults PutEvents can be made to show.
const (
	// FaultInternalError answers HTTP 500 InternalException; nothing is
	// recorded. The SDK retries it.
	FaultInternalError Fault = iota + 1
	// FaultThrottling answers HTTP 400 ThrottlingException "Rate
	// exceeded"; nothing is recorded. The SDK retries it.
	FaultThrottling
	// FaultFailedEntry answers HTTP 200 with the request's first entry
	// failed (ErrorCode "InternalFailure", FailedEntryCount counting it);
	// the other entries are processed normally.
	FaultFailedEntry
	// FaultLostAnswer processes the request — accepted events ARE recorded
	// and delivered — then closes the connection without an answer, as a
	// network failure after the service committed would.
	FaultLostAnswer
)

// ErrAnswerLost is what Put returns, with its results, under
// FaultLostAnswer; over HTTP the connection is closed instead.
var ErrAnswerLost = errors.New("busemu: answer lost (injected fault); the entries were processed")

func (f Fault) String() string {
	switch f {
	case FaultInternalError:
		return "internal error"
	case FaultThrottling:
		return "throttling"
	case FaultFailedEntry:
		return "failed entry"
	case FaultLostAnswer:
		return "lost answer"
	}
	return "no fault"
}

// apiError is the whole-request error the fault answers with, if any.
func (f Fault) apiError() *APIError {
	switch f {
	case FaultInternalError:
		return newAPIError(typeInternal, "An internal error occurred (busemu fault injection).")
	case FaultThrottling:
		return newAPIError(typeThrottling, "Rate exceeded")
	}
	return nil
}

// FailNext makes the next n PutEvents calls (HTTP or Put) fail with f,
// after any faults already queued. Calls refused by validation do not use
// a fault up.
func (b *Bus) FailNext(n int, f Fault) {
	b.faults.add(n, f)
}

// faultQueue holds queued faults with the calls each still affects.
type faultQueue struct {
	mu     sync.Mutex
	faults []Fault
	remain []int
}

func (q *faultQueue) add(n int, f Fault) {
	if n <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.faults = append(q.faults, f)
	q.remain = append(q.remain, n)
}

// take uses up one call of the first queued fault; 0 means none.
func (q *faultQueue) take() Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.faults) == 0 {
		return 0
	}
	f := q.faults[0]
	q.remain[0]--
	if q.remain[0] == 0 {
		q.faults, q.remain = q.faults[1:], q.remain[1:]
	}
	return f
}
