package smemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

const (
	jsonContentType = "application/x-amz-json-1.1"
	targetPrefix    = "secretsmanager."
	adminPrefix     = "/_emu/"
	// maxRequestBody leaves room for a 64 KiB binary secret, base64-encoded.
	maxRequestBody = 1 << 20
)

// operation is one API operation; mutating ones trigger a save of DataFile.
type operation struct {
	run     func(e *Emulator, body []byte) (any, error)
	mutates bool
}

// handle adapts a typed operation method to the wire: decode the JSON
// input, run, return the output for encoding.
func handle[In, Out any](f func(*Emulator, In) (Out, error)) func(*Emulator, []byte) (any, error) {
	return func(e *Emulator, body []byte) (any, error) {
		var in In
		if err := decodeInput(body, &in); err != nil {
			return nil, err
		}
		return f(e, in)
	}
}

var operations = map[string]operation{
	"CreateSecret":             {handle((*Emulator).createSecret), true},
	"DescribeSecret":           {handle((*Emulator).describeSecret), false},
	"GetSecretValue":           {handle((*Emulator).getSecretValue), false},
	"PutSecretValue":           {handle((*Emulator).putSecretValue), true},
	"UpdateSecret":             {handle((*Emulator).updateSecret), true},
	"UpdateSecretVersionStage": {handle((*Emulator).updateSecretVersionStage), true},
	"RotateSecret":             {handle((*Emulator).rotateSecret), true},
	"CancelRotateSecret":       {handle((*Emulator).cancelRotateSecret), true},
	"ListSecrets":              {handle((*Emulator).listSecrets), false},
	"ListSecretVersionIds":     {handle((*Emulator).listSecretVersionIds), false},
	"DeleteSecret":             {handle((*Emulator).deleteSecret), true},
	"RestoreSecret":            {handle((*Emulator).restoreSecret), true},
	"TagResource":              {handle((*Emulator).tagResource), true},
	"UntagResource":            {handle((*Emulator).untagResource), true},
	"PutResourcePolicy":        {handle((*Emulator).putResourcePolicy), true},
	"GetResourcePolicy":        {handle((*Emulator).getResourcePolicy), false},
	"DeleteResourcePolicy":     {handle((*Emulator).deleteResourcePolicy), true},
}

func decodeInput(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return newAPIError(typeSerialization, "The request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

// ServeHTTP answers AWS JSON 1.1 on POST /, plus the admin paths
// /_emu/faults and /_emu/clock. SigV4 headers are accepted unverified.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		e.serveAdmin(w, r)
		return
	}
	e.requests.Add(1)
	if sleep(r.Context(), time.Duration(e.latency.Load())) != nil {
		return
	}
	requestID := newUUID()
	w.Header().Set("x-amzn-RequestId", requestID)
	op, body, err := readRequest(r)
	var out any
	if err == nil {
		out, err = e.call(r.Context(), op, body)
	}
	e.logCall(r.Context(), requestID, op, err)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, jsonContentType, out)
}

// readRequest returns the operation named by X-Amz-Target and the body.
func readRequest(r *http.Request) (string, []byte, error) {
	if r.Method != http.MethodPost {
		return "", nil, &apiError{Type: typeUnknownOperation, Message: "Secrets Manager operations are POST requests to /.", Status: http.StatusMethodNotAllowed}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok || op == "" {
		return "", nil, newAPIError(typeUnknownOperation, "The X-Amz-Target header must name an operation as secretsmanager.<Operation>.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return op, nil, newAPIError(typeSerialization, "Reading the request body failed.")
	}
	if len(body) > maxRequestBody {
		return op, nil, &apiError{Type: typeSerialization, Message: "The request body is too large.", Status: http.StatusRequestEntityTooLarge}
	}
	return op, body, nil
}

// call runs one operation: injected faults first, then the operation, then
// a save of DataFile when it changed state.
func (e *Emulator) call(ctx context.Context, op string, body []byte) (any, error) {
	o, ok := operations[op]
	if !ok {
		return nil, newAPIError(typeUnknownOperation, "The operation secretsmanager.%s is not supported by this emulator (smemu).", op)
	}
	if err := e.faults.apply(ctx, op); err != nil {
		return nil, err
	}
	out, err := o.run(e, body)
	if err == nil && o.mutates {
		e.saveLogged()
	}
	return out, err
}

// logCall logs the outcome of a call: never the body, which may hold secret values.
func (e *Emulator) logCall(ctx context.Context, requestID, op string, err error) {
	attrs := []any{"requestId", requestID, "operation", op}
	var apiErr *apiError
	switch {
	case err == nil:
		e.log.DebugContext(ctx, "secretsmanager call", attrs...)
	case errors.As(err, &apiErr):
		e.log.DebugContext(ctx, "secretsmanager call failed", append(attrs, "errorType", apiErr.Type)...)
	default:
		e.log.WarnContext(ctx, "secretsmanager call failed", append(attrs, "error", err.Error())...)
	}
}

// writeAPIError writes {"__type": …, "Message": …} with the type's status.
func writeAPIError(w http.ResponseWriter, err error) {
	var apiErr *apiError
	if !errors.As(err, &apiErr) {
		apiErr = newAPIError(typeInternal, "An error occurred on the server side.")
	}
	writeJSON(w, apiErr.Status, jsonContentType, map[string]string{"__type": apiErr.Type, "Message": apiErr.Message})
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"__type":"InternalServiceError","Message":"Encoding the response failed."}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// logError is a tiny helper for failures with nowhere else to go.
func (e *Emulator) logError(msg string, err error) {
	e.log.LogAttrs(context.Background(), slog.LevelError, msg, slog.String("error", err.Error()))
}
