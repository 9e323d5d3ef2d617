package busemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"time"
)

const (
	jsonContentType = "application/x-amz-json-1.1"
	// putEventsTarget is the X-Amz-Target of PutEvents (targetPrefix
	// "AWSEvents" in the service model).
	putEventsTarget = "AWSEvents.PutEvents"
	// maxRequestBody leaves room for ten entries at the size limit, JSON-escaped.
	maxRequestBody = 4 << 20
)

// wireEntry is a PutEventsRequestEntry as the SDKs and the CLI send it.
type wireEntry struct {
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
	EventBusName string
	Time         *float64 // epoch seconds, as AWS JSON 1.1 writes timestamps
	TraceHeader  string   // accepted and ignored
}

type putEventsInput struct {
	Entries    []wireEntry
	EndpointId string // global endpoints are not emulated; accepted and ignored
}

type putEventsOutput struct {
	FailedEntryCount int
	Entries          []PutResult
}

// ServeHTTP answers PutEvents in the AWS JSON 1.1 protocol: POST / with
// X-Amz-Target: AWSEvents.PutEvents. SigV4 headers are accepted unverified.
func (b *Bus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newUUID()
	w.Header().Set("x-amzn-RequestId", requestID)
	entries, err := readPutEvents(r)
	var results []PutResult
	if err == nil {
		results, err = b.Put(r.Context(), entries...)
	}
	b.logCall(r, requestID, len(entries), err)
	if errors.Is(err, ErrAnswerLost) {
		// Close the connection without writing anything.
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, putEventsOutput{FailedEntryCount: FailedCount(results), Entries: results})
}

// readPutEvents checks the method and target and decodes the entries.
func readPutEvents(r *http.Request) ([]Entry, error) {
	if r.Method != http.MethodPost {
		return nil, &APIError{Type: typeUnknownOperation, Message: "EventBridge operations are POST requests to /.", Status: http.StatusMethodNotAllowed}
	}
	if target := r.Header.Get("X-Amz-Target"); target != putEventsTarget {
		return nil, newAPIError(typeUnknownOperation, "Unknown operation %q: this stand-in (busemu) implements only %s.", target, putEventsTarget)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return nil, newAPIError(typeSerialization, "Reading the request body failed.")
	}
	if len(body) > maxRequestBody {
		return nil, &APIError{Type: typeSerialization, Message: "The request body is too large.", Status: http.StatusRequestEntityTooLarge}
	}
	var in putEventsInput
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, newAPIError(typeSerialization, "The request body is not valid JSON for PutEvents.")
		}
	}
	return toEntries(in.Entries), nil
}

func toEntries(wire []wireEntry) []Entry {
	if wire == nil {
		return nil
	}
	entries := make([]Entry, len(wire))
	for i, w := range wire {
		entries[i] = Entry{
			Source: w.Source, DetailType: w.DetailType, Detail: w.Detail,
			Resources: w.Resources, EventBusName: w.EventBusName,
		}
		if w.Time != nil {
			sec, frac := math.Modf(*w.Time)
			entries[i].Time = time.Unix(int64(sec), int64(frac*1e9))
		}
	}
	return entries
}

// logCall logs the outcome of a call: ids and counts, never entries.
func (b *Bus) logCall(r *http.Request, requestID string, entries int, err error) {
	attrs := []any{"requestId", requestID, "operation", "PutEvents", "entries", entries}
	var apiErr *APIError
	switch {
	case err == nil:
		b.log.DebugContext(r.Context(), "eventbridge call", attrs...)
	case errors.As(err, &apiErr):
		b.log.InfoContext(r.Context(), "eventbridge call refused", append(attrs, "errorType", apiErr.Type)...)
	default:
		b.log.WarnContext(r.Context(), "eventbridge call failed", append(attrs, "error", err.Error())...)
	}
}

// writeAPIError writes {"__type": …, "message": …} with the type's status.
func writeAPIError(w http.ResponseWriter, err error) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		apiErr = newAPIError(typeInternal, "An internal error occurred.")
	}
	writeJSON(w, apiErr.Status, map[string]string{"__type": apiErr.Type, "message": apiErr.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"__type":"InternalException","message":"Encoding the response failed."}`)
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
