package rotation_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// errCrashed is what the test's Lambda returns when it was "killed" after a
// call: the step's context was cancelled and the invocation failed.
var errCrashed = errors.New("the rotation function crashed")

// faultKind is how a planned fault breaks one remote call.
type faultKind string

const (
	// fault5xx answers a server error without reaching the server.
	fault5xx faultKind = "5xx"
	// faultThrottle answers a throttling error without reaching the server.
	faultThrottle faultKind = "throttling"
	// faultTimeout lets the request through, then loses the answer: the
	// call has its effect, but the caller sees a timeout.
	faultTimeout faultKind = "timeout"
	// faultCrash lets the call complete, then kills the step (its context
	// is cancelled and the invocation fails).
	faultCrash faultKind = "crash"
)

// plan is one fault on the first call labelled label.
type plan struct {
	label string
	kind  faultKind
}

// recorder is the HTTP transport of the rotator's clients. It labels each
// call "<step> <operation> #<n>" (n counts that operation within one step
// invocation, so labels repeat identically across attempts), records the
// labels, and fires at most one planned fault.
type recorder struct {
	base http.RoundTripper

	mu      sync.Mutex
	step    string
	counts  map[string]int
	cancel  context.CancelFunc
	crashed bool
	labels  []string
	plan    *plan
	fired   bool
	secrets map[string]bool
	// hooks run once each, after the call of their label completes.
	hooks map[string]func()
}

// onCall runs fn once, after the call labelled label has completed and
// before its caller sees the answer.
func (r *recorder) onCall(label string, fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hooks == nil {
		r.hooks = map[string]func(){}
	}
	r.hooks[label] = fn
}

// takeHook removes and returns the hook of label, if any.
func (r *recorder) takeHook(label string) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn := r.hooks[label]
	delete(r.hooks, label)
	return fn
}

func (r *recorder) beginStep(step string, cancel context.CancelFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.step, r.counts, r.cancel, r.crashed = step, map[string]int{}, cancel, false
}

// endStep reports whether the step crashed.
func (r *recorder) endStep() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	crashed := r.crashed
	r.step, r.cancel, r.crashed = "", nil, false
	return crashed
}

func (r *recorder) arm(p plan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.plan, r.fired, r.labels = &p, false, nil
}

func (r *recorder) hasFired() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fired
}

// calls returns the labels recorded since the last reset.
func (r *recorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.labels...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.labels, r.plan, r.fired = nil, nil, false
}

// secretsSeen returns every Datadog key sent in a request header.
func (r *recorder) secretsSeen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for s := range r.secrets {
		out = append(out, s)
	}
	return out
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	label, kind := r.begin(req)
	switch kind {
	case fault5xx, faultThrottle:
		return synthetic(req, kind), nil
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	// Read the whole answer now, so that a crash after the call cannot
	// spoil the answer the caller is about to read.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if fn := r.takeHook(label); fn != nil {
		fn()
	}
	switch kind {
	case faultTimeout:
		return nil, fmt.Errorf("%s: %w", label, errInjectedTimeout)
	case faultCrash:
		r.crash()
	}
	return resp, nil
}

// begin labels the call and returns the fault to apply to it, if any.
func (r *recorder) begin(req *http.Request) (string, faultKind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remember(req)
	op := operation(req)
	r.counts[op]++
	label := fmt.Sprintf("%s %s #%d", r.step, op, r.counts[op])
	r.labels = append(r.labels, label)
	if r.plan == nil || r.fired || r.plan.label != label {
		return label, ""
	}
	r.fired = true
	return label, r.plan.kind
}

func (r *recorder) remember(req *http.Request) {
	if r.secrets == nil {
		r.secrets = map[string]bool{}
	}
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	for _, h := range []string{"Dd-Api-Key", "Dd-Application-Key"} {
		if v := req.Header.Get(h); v != "" {
			r.secrets[v] = true
		}
	}
}

func (r *recorder) crash() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.crashed = true
	if r.cancel != nil {
		r.cancel()
	}
}

var idSegment = regexp.MustCompile(`/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// operation names a call: the Secrets Manager operation, or the Datadog
// method and path with ids replaced.
func operation(req *http.Request) string {
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		return "SM " + strings.TrimPrefix(target, "secretsmanager.")
	}
	return "DD " + req.Method + " " + idSegment.ReplaceAllString(req.URL.Path, "/{id}")
}

var errInjectedTimeout = timeoutError{}

// timeoutError is an injected network timeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "injected timeout: the answer was lost" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// synthetic answers like the service would for a server error or
// throttling, without the request reaching it.
func synthetic(req *http.Request, kind faultKind) *http.Response {
	status, body, header := 500, "", http.Header{}
	if req.Header.Get("X-Amz-Target") != "" {
		header.Set("Content-Type", "application/x-amz-json-1.1")
		body = `{"__type":"InternalServiceError","Message":"injected server error"}`
		if kind == faultThrottle {
			status, body = 400, `{"__type":"ThrottlingException","Message":"Rate exceeded"}`
		}
	} else {
		header.Set("Content-Type", "application/json")
		body = `{"errors":["Internal Server Error"]}`
		if kind == faultThrottle {
			status, body = 429, `{"errors":["Too many requests"]}`
			header.Set("X-RateLimit-Limit", "10")
			header.Set("X-RateLimit-Period", "10")
			header.Set("X-RateLimit-Remaining", "0")
			header.Set("X-RateLimit-Reset", "1")
			header.Set("X-RateLimit-Name", "injected")
		}
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
		Request: req,
	}
}
