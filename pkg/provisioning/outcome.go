package provisioning

import (
	"errors"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

// Reasons of a "Provisioning Failed" outcome.
const (
	ReasonInvalidEvent             = "invalid-event"
	ReasonInvalidRequest           = "invalid-request"
	ReasonSourceSecretNotFound     = "source-secret-not-found"
	ReasonSourceSecretInvalid      = "source-secret-invalid"
	ReasonSourceSecretUnreadable   = "source-secret-unreadable"
	ReasonAlreadyExists            = "already-exists"
	ReasonPendingDeletion          = "pending-deletion"
	ReasonConnectionNotFound       = "connection-not-found"
	ReasonCredentialsRejected      = "credentials-rejected"
	ReasonPermissionDenied         = "permission-denied"
	ReasonServiceAccountUnusable   = "service-account-unusable"
	ReasonServiceAccountNotAllowed = "service-account-not-allowed"
	// ReasonDeleted: the request was carried out before, and the key it
	// minted was deleted since; it is not carried out again.
	ReasonDeleted = "deleted"
	// ReasonKeyLimitReached: Datadog's key limit leaves no room for the key.
	ReasonKeyLimitReached = "key-limit-reached"
	// ReasonForbidden: the access policy does not attribute the event's
	// account to the connection's team (or to the team it names).
	ReasonForbidden = "forbidden"
	// ReasonUnavailable is the one retryable reason: Datadog or Secrets
	// Manager kept failing, and the create function fails the invocation
	// so that Lambda retries it.
	ReasonUnavailable = "unavailable"
	ReasonInternal    = "internal"
)

// Messages of failures that do not come from the services.
const (
	internalMessage         = "ddconn failed unexpectedly; the create function's logs have the details under this requestId"
	retryingSuffix          = "; ddconn will try again (Lambda retries the event twice)"
	invalidEventMessage     = "the event is not a valid ddconn request"
	sourceNotFoundMessage   = "the staging secret does not exist (or is scheduled for deletion)"
	sourceUnreadableMessage = "the staging secret could not be read: check that it exists under the staging prefix and that ddconn's role may read it"
	sourceInvalidMessage    = `the staging secret must hold exactly a JSON object {"apiKey":"…","applicationKey":"…"}`
)

// Failed is the detail of a "Provisioning Failed" outcome. Message is
// written for people and never holds key material.
type Failed struct {
	RequestID string `json:"requestId"`
	// Request is the detail type of the failed request.
	Request string `json:"request"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Details name each bad field of an invalid request.
	Details []connection.FieldError `json:"details,omitempty"`
	// Retryable is true when ddconn itself will try again (a backing
	// service was unavailable): a later outcome with the same requestId
	// supersedes this one.
	Retryable bool `json:"retryable"`
}

// failure is a request that could not be carried out: the outcome to
// publish and, for logs only, its cause.
type failure struct {
	reason, message string
	details         []connection.FieldError
	cause           error
}

// Error is the failure for logs: the reason and the cause, which holds the
// services' own message, or the message when there is no cause.
func (f *failure) Error() string {
	if f.cause != nil {
		return f.reason + ": " + f.cause.Error()
	}
	return f.reason + ": " + f.message
}

func (f *failure) Unwrap() error { return f.cause }

func invalidEvent(problems ...connection.FieldError) *failure {
	return &failure{reason: ReasonInvalidEvent, message: invalidEventMessage, details: problems}
}

// reasonsByKind map the services' outcome kinds to reasons.
var reasonsByKind = []struct {
	kind   error
	reason string
}{
	{connection.ErrInvalid, ReasonInvalidRequest},
	{connection.ErrExists, ReasonAlreadyExists},
	{connection.ErrPendingDeletion, ReasonPendingDeletion},
	{connection.ErrNotFound, ReasonConnectionNotFound},
	{connection.ErrRejected, ReasonCredentialsRejected},
	{connection.ErrDatadogUnavailable, ReasonUnavailable},
	{connection.ErrStoreUnavailable, ReasonUnavailable},
	{managedkey.ErrInvalid, ReasonInvalidRequest},
	{managedkey.ErrConnectionNotFound, ReasonConnectionNotFound},
	{managedkey.ErrExists, ReasonAlreadyExists},
	{managedkey.ErrServiceAccount, ReasonServiceAccountUnusable},
	{managedkey.ErrNotAllowed, ReasonServiceAccountNotAllowed},
	{managedkey.ErrRejected, ReasonPermissionDenied},
	{managedkey.ErrUnavailable, ReasonUnavailable},
	{managedkey.ErrDeleted, ReasonDeleted},
	{managedkey.ErrKeyLimit, ReasonKeyLimitReached},
}

// failureOf turns a service error into a failure with the service's own
// user-facing message; anything else is internal, with a message that
// reveals nothing.
func failureOf(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	out := &failure{reason: ReasonInternal, message: internalMessage, cause: err}
	for _, k := range reasonsByKind {
		if errors.Is(err, k.kind) {
			out.reason = k.reason
			break
		}
	}
	var se *connection.Error
	var refusal *access.Refusal
	switch {
	case errors.As(err, &refusal):
		out.reason, out.message = ReasonForbidden, refusal.Why
	case out.reason == ReasonInternal:
	case errors.As(err, &se):
		out.message, out.details = se.Message, se.Details
	}
	if out.reason == ReasonUnavailable {
		out.message += retryingSuffix
	}
	return out
}
