package managedkey

import (
	"errors"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/rotationstate"
)

// Outcomes callers branch on (errors.Is). Every error the Service returns
// for one of them is an *Error whose Message is safe to show to users.
var (
	// ErrInvalid: the request is malformed (name, scopes, rotation settings).
	ErrInvalid = errors.New("invalid managed key request")
	// ErrConnectionNotFound: the connection does not exist.
	ErrConnectionNotFound = errors.New("connection not found")
	// ErrNotFound: the managed key does not exist.
	ErrNotFound = errors.New("managed key not found")
	// ErrExists: a managed key of that name exists (or awaits deletion).
	ErrExists = errors.New("managed key exists")
	// ErrServiceAccount: the service account does not exist, is disabled,
	// or is not a service account.
	ErrServiceAccount = errors.New("unusable service account")
	// ErrNotAllowed: the connection does not mint for that service account.
	ErrNotAllowed = errors.New("service account not allowed for the connection")
	// ErrRejected: Datadog refused the connection's key (401/403), typically
	// because it lacks service_account_write or user_access_read.
	ErrRejected = errors.New("datadog rejected the connection's key")
	// ErrUnavailable: Datadog or Secrets Manager failed; retry later.
	ErrUnavailable = errors.New("a backing service is unavailable")
	// ErrKeyLimit: the service account (or, for API keys, the
	// organisation) holds as many keys as Datadog allows.
	ErrKeyLimit = errors.New("the Datadog key limit is reached")
	// ErrDeleted: the request minted a key that was deleted since (a
	// tombstone records it); it is not carried out again.
	ErrDeleted = errors.New("the request's managed key was deleted")
)

// Error is a failed request, the services' one user-facing error
// (connection.Error): Kind is one of the sentinels above, Message says what
// happened in words safe for users (never key material), Details names
// each bad field of an ErrInvalid request, Err is the cause.
type Error = connection.Error

func fail(kind error, message string, cause error) *Error {
	return &Error{Kind: kind, Message: message, Err: cause}
}

// invalid is the ErrInvalid error for the given field problems.
func invalid(details []connection.FieldError) *Error {
	return &Error{Kind: ErrInvalid, Message: "the request is invalid", Details: details}
}

// settingProblem is a rotation setting's error as a field problem under
// "rotation.".
func settingProblem(err error) connection.FieldError {
	var se *rotationstate.SettingError
	if errors.As(err, &se) {
		return connection.FieldError{Field: "rotation." + se.Field, Message: se.Message}
	}
	return connection.FieldError{Field: "rotation", Message: err.Error()}
}
