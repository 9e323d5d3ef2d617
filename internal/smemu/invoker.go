package smemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// RotationEvent is the payload sent to a rotation function, with the keys
// Secrets Manager uses: Step, SecretId (the secret's ARN),
// ClientRequestToken (the version being rotated in) and RotationToken.
type RotationEvent struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	RotationToken      string `json:"RotationToken"`
}

// The four rotation steps, in the order Secrets Manager runs them.
const (
	stepCreateSecret = "createSecret"
	stepSetSecret    = "setSecret"
	stepTestSecret   = "testSecret"
	stepFinishSecret = "finishSecret"
)

// Invoker runs the rotation function named by a Lambda ARN; a non-nil error
// fails the step.
type Invoker interface {
	Invoke(ctx context.Context, functionARN string, payload []byte) error
}

// InvokerFunc adapts a Go function to Invoker: the in-process rotation
// function used by tests and `make dev`.
type InvokerFunc func(ctx context.Context, functionARN string, payload []byte) error

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, functionARN string, payload []byte) error {
	return f(ctx, functionARN, payload)
}

// ErrCannotInvoke reports that no Invoker is configured for a function ARN.
// RotateSecret answers it with AccessDeniedException, as Secrets Manager
// does for a function it may not invoke.
var ErrCannotInvoke = errors.New("no invoker for this function ARN")

// FunctionError is a failure reported by the rotation function itself: an
// unhandled error in the Lambda handler.
type FunctionError struct {
	FunctionARN string
	Type        string // errorType, e.g. "errorString"; "" when the runtime gave none
	Message     string // errorMessage as the function reported it
}

// Error names the function and what it reported.
func (e *FunctionError) Error() string {
	return fmt.Sprintf("function %s failed: %s: %s", e.FunctionARN, e.Type, e.Message)
}

// RIEInvoker POSTs the payload to <Endpoint>/2015-03-31/functions/function/invocations;
// a Lambda error (X-Amz-Function-Error header or {"errorType"/"errorMessage"} body)
// or non-2xx fails the step.
type RIEInvoker struct {
	Endpoint string       // e.g. "http://127.0.0.1:9000"
	Client   *http.Client // nil: a client with a 5-minute timeout
}

// rieInvokePath is the Lambda Invoke API path the Runtime Interface Emulator serves.
const rieInvokePath = "/2015-03-31/functions/function/invocations"

// maxInvokeResponse bounds how much of a function's response is read.
const maxInvokeResponse = 1 << 20

// Invoke runs the function once and translates its answer into an error.
func (r RIEInvoker) Invoke(ctx context.Context, functionARN string, payload []byte) error {
	url := strings.TrimRight(r.Endpoint, "/") + rieInvokePath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("invoking %s through RIE: %w", functionARN, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client().Do(req)
	if err != nil {
		return fmt.Errorf("invoking %s through RIE: %w", functionARN, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInvokeResponse))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", functionARN, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("invoking %s through RIE: HTTP %d", functionARN, resp.StatusCode)
	}
	return functionError(functionARN, resp.Header.Get("X-Amz-Function-Error"), body)
}

func (r RIEInvoker) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return &http.Client{Timeout: 5 * time.Minute}
}

// functionError reads a Lambda response: the runtime reports an unhandled
// error as {"errorType": …, "errorMessage": …}, and the Invoke API also
// flags it with the X-Amz-Function-Error header.
func functionError(functionARN, header string, body []byte) error {
	var payload struct {
		ErrorType    *string `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	isError := json.Unmarshal(body, &payload) == nil && (payload.ErrorType != nil || payload.ErrorMessage != nil)
	if !isError && header == "" {
		return nil
	}
	fe := &FunctionError{FunctionARN: functionARN, Type: header}
	if payload.ErrorType != nil {
		fe.Type = *payload.ErrorType
	}
	if payload.ErrorMessage != nil {
		fe.Message = *payload.ErrorMessage
	}
	return fe
}

// Router picks an Invoker per function ARN, falling back to Default; an unknown ARN with no Default
// makes RotateSecret answer AccessDeniedException (the documented "cannot invoke" message).
type Router struct {
	Routes  map[string]Invoker
	Default Invoker
}

// Invoke hands the call to the Invoker routed for functionARN.
func (r Router) Invoke(ctx context.Context, functionARN string, payload []byte) error {
	inv := r.lookup(functionARN)
	if inv == nil {
		return fmt.Errorf("invoking %s: %w", functionARN, ErrCannotInvoke)
	}
	return inv.Invoke(ctx, functionARN, payload)
}

// CanInvoke reports whether a route or the default covers functionARN.
// RotateSecret asks before it saves anything.
func (r Router) CanInvoke(functionARN string) bool { return r.lookup(functionARN) != nil }

func (r Router) lookup(functionARN string) Invoker {
	if inv, ok := r.Routes[functionARN]; ok && inv != nil {
		return inv
	}
	return r.Default
}

// invokeChecker is implemented by invokers that know in advance which
// functions they can reach (Router).
type invokeChecker interface {
	CanInvoke(functionARN string) bool
}

var (
	_ Invoker       = InvokerFunc(nil)
	_ Invoker       = RIEInvoker{}
	_ Invoker       = Router{}
	_ invokeChecker = Router{}
)
