package secretstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// Sentinel outcomes; every *Error wraps exactly one of them.
var (
	// ErrNotFound: the secret (or the requested version) does not exist.
	ErrNotFound = errors.New("secret not found")
	// ErrExists: a secret with that name exists, or the request token is
	// already used for another value.
	ErrExists = errors.New("secret already exists")
	// ErrPendingDeletion: the secret is scheduled for deletion, so it can
	// be neither used nor re-created until the deletion completes.
	ErrPendingDeletion = errors.New("secret is scheduled for deletion")
	// ErrRotationInProgress: a previous rotation of the secret is not complete.
	ErrRotationInProgress = errors.New("a previous rotation is not complete")
	// ErrThrottled: Secrets Manager kept throttling after the SDK's retries.
	ErrThrottled = errors.New("secrets manager is throttling requests")
	// ErrInvalid: Secrets Manager refused the request's parameters.
	ErrInvalid = errors.New("secrets manager refused the request")
	// ErrUnavailable: Secrets Manager could not be reached, or failed with a
	// server error after the SDK's retries.
	ErrUnavailable = errors.New("secrets manager is unavailable")
)

// Error is a failed Secrets Manager call.
type Error struct {
	// Op is the operation, such as "describing secret".
	Op string
	// ID is the secret name or ARN the call was about ("" for listings).
	ID string

	kind  error
	cause error
}

func (e *Error) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("secretstore: %s: %v: %v", e.Op, e.kind, e.cause)
	}
	return fmt.Sprintf("secretstore: %s %s: %v: %v", e.Op, e.ID, e.kind, e.cause)
}

// Unwrap exposes the sentinel and the SDK's error to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.kind, e.cause} }

// The InvalidRequestException messages that mean something to callers
// (from the Secrets Manager reference, §3).
const (
	msgMarkedForDeletion    = "marked for deletion"
	msgScheduledForDeletion = "scheduled for deletion"
	msgRotationIncomplete   = "previous rotation isn't complete"
)

// wrap maps an SDK error to an *Error; nil stays nil.
func wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, ID: id, kind: kindOf(err), cause: err}
}

func kindOf(err error) error {
	var (
		notFound *types.ResourceNotFoundException
		exists   *types.ResourceExistsException
		invalid  *types.InvalidRequestException
		quota    ratelimit.QuotaExceededError
		apiErr   smithy.APIError
	)
	switch {
	case errors.As(err, &notFound):
		return ErrNotFound
	case errors.As(err, &exists):
		return ErrExists
	case errors.As(err, &invalid):
		return invalidRequestKind(invalid.ErrorMessage())
	case errors.As(err, &apiErr) && isThrottle(apiErr.ErrorCode()):
		return ErrThrottled
	case errors.As(err, &quota):
		// The SDK's retry budget is spent: the service has been failing
		// or throttling for a while.
		return ErrThrottled
	case errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer && httpStatus(err) < 500:
		return ErrInvalid
	default:
		// Server faults (InternalServiceError, any 5xx), transport failures
		// and cancelled or timed-out contexts.
		return ErrUnavailable
	}
}

func invalidRequestKind(msg string) error {
	switch {
	case strings.Contains(msg, msgMarkedForDeletion), strings.Contains(msg, msgScheduledForDeletion):
		return ErrPendingDeletion
	case strings.Contains(msg, msgRotationIncomplete):
		return ErrRotationInProgress
	default:
		return ErrInvalid
	}
}

// httpStatus is the HTTP status of the response that failed, 0 if none.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isThrottle(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "RequestThrottled":
		return true
	}
	return false
}
