package busemu

import (
	"fmt"
	"net/http"
)

// Error types (the wire "__type") the stand-in answers with.
const (
	typeValidation       = "ValidationException"
	typeThrottling       = "ThrottlingException"
	typeInternal         = "InternalException"
	typeUnknownOperation = "UnknownOperationException"
	typeSerialization    = "SerializationException"
)

// Per-entry error codes (PutEventsResultEntry.ErrorCode).
const (
	codeInvalidArgument = "InvalidArgument"
	codeMalformedDetail = "MalformedDetail"
	codeNotAuthorized   = "NotAuthorizedForSourceException"
	codeInternalFailure = "InternalFailure"
)

// APIError is a PutEvents call refused as a whole: the HTTP answer is
// Status with {"__type": Type, "message": Message}.
type APIError struct {
	// Type is the error type, such as "ValidationException".
	Type string
	// Message explains the error; it never echoes an entry's Detail.
	Message string
	// Status is the HTTP status code of the answer.
	Status int
}

func (e *APIError) Error() string { return e.Type + ": " + e.Message }

// newAPIError builds an APIError with the status EventBridge uses for the
// type: client errors are 400, InternalException a 500.
func newAPIError(typ, format string, args ...any) *APIError {
	status := http.StatusBadRequest
	if typ == typeInternal {
		status = http.StatusInternalServerError
	}
	return &APIError{Type: typ, Message: fmt.Sprintf(format, args...), Status: status}
}

// errConstraint formats a model constraint violation the way AWS JSON
// services do, without echoing the offending value.
func errConstraint(field, constraint string) *APIError {
	return newAPIError(typeValidation, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member %s", field, constraint)
}

func errTooManyEntries(n int) *APIError {
	// AWS echoes every entry (Detail included) inside Value '[…]'; the
	// stand-in names the count instead, so data never lands in logs.
	return newAPIError(typeValidation, "1 validation error detected: Value '[%d PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", n, maxEntries)
}

func errTooLarge() *APIError {
	return newAPIError(typeValidation, "Total size of the entries in the request is over the limit.")
}
