package eventbus

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Outcomes callers branch on; every error of Publish wraps one of them.
var (
	// ErrRejected: the event or the request was refused and sending it again
	// will not help — it failed validation (here or at EventBridge), is too
	// large, or the caller may not publish it (source not authorised,
	// access denied).
	ErrRejected = errors.New("event rejected")
	// ErrUnavailable: EventBridge could not take the event now — throttling
	// or server errors after the SDK's retries, a retryable entry failure,
	// a network failure or an ended context. Publishing again later may
	// succeed; after a network failure the event may also have been
	// accepted once already.
	ErrUnavailable = errors.New("event bus unavailable")
)

// EntryError is an entry PutEvents answered as failed (HTTP 200 with
// FailedEntryCount > 0). It wraps ErrUnavailable for the codes AWS
// documents as retryable (InternalFailure, ThrottlingException) and
// ErrRejected for the others.
type EntryError struct {
	// Code is the entry's ErrorCode, such as "NotAuthorizedForSourceException".
	Code string
	// Message is the entry's ErrorMessage.
	Message string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("entry failed: %s: %s", e.Code, e.Message)
}

// Unwrap returns the outcome: ErrUnavailable or ErrRejected.
func (e *EntryError) Unwrap() error {
	if retryableEntryCodes[e.Code] {
		return ErrUnavailable
	}
	return ErrRejected
}

// retryableEntryCodes are the PutEventsResultEntry error codes the API
// reference lists as retryable.
var retryableEntryCodes = map[string]bool{"InternalFailure": true, "ThrottlingException": true}

// classify wraps an error of the PutEvents call with its outcome; the SDK's
// error stays in the chain for logs and errors.As.
func classify(err error) error {
	return fmt.Errorf("%w: %w", outcomeOf(err), err)
}

func outcomeOf(err error) error {
	var (
		apiErr smithy.APIError
		quota  ratelimit.QuotaExceededError
	)
	switch {
	case errors.As(err, &quota):
		// The SDK's retry budget is spent: EventBridge has been failing or
		// throttling for a while.
		return ErrUnavailable
	case errors.As(err, &apiErr) && isThrottle(apiErr.ErrorCode()):
		return ErrUnavailable
	case errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer && httpStatus(err) < 500:
		// ValidationException, AccessDeniedException, an unrecognised
		// signature: the request itself was refused.
		return ErrRejected
	default:
		// Server faults (InternalException, any 5xx), transport failures,
		// unreadable answers and ended contexts.
		return ErrUnavailable
	}
}

// isThrottle reports whether code is one the SDK's retryer treats as
// throttling, so the outcome agrees with its retry decision.
func isThrottle(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// httpStatus is the HTTP status of the response that failed, 0 if none.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
