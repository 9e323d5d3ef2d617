package connection

import (
	"errors"
	"strings"
)

// Kinds of failure; every *Error wraps exactly one of them.
var (
	// ErrInvalid: the request is malformed; Error.Details names each bad field.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: no such connection.
	ErrNotFound = errors.New("connection not found")
	// ErrExists: a connection with that name exists.
	ErrExists = errors.New("connection already exists")
	// ErrPendingDeletion: the name belongs to a connection scheduled for deletion.
	ErrPendingDeletion = errors.New("connection is scheduled for deletion")
	// ErrRotationInProgress: the connection's keys are being rotated.
	ErrRotationInProgress = errors.New("a rotation is in progress")
	// ErrRejected: Datadog rejected the credentials (Details name which key)
	// or refused the call for lack of permission.
	ErrRejected = errors.New("datadog rejected the credentials")
	// ErrDatadogUnavailable: Datadog could not be reached or kept failing.
	ErrDatadogUnavailable = errors.New("datadog is unavailable")
	// ErrStoreUnavailable: Secrets Manager kept throttling or failing.
	ErrStoreUnavailable = errors.New("secrets manager is unavailable")
	// ErrRotationDisabled: rotate-now on a connection whose rotation is off.
	ErrRotationDisabled = errors.New("rotation is not enabled")
	// ErrKeyShared: the connection's application key is also stored in
	// other connections; rotating it would revoke their key.
	ErrKeyShared = errors.New("the application key is shared with other connections")
	// ErrTooSoon: rotate-now before the next rotation may start (the
	// minimum interval, or the limit of keys awaiting revocation); the
	// message says from when.
	ErrTooSoon = errors.New("the next rotation is not possible yet")
	// ErrRotationUnavailable: the deployment has no rotation function.
	ErrRotationUnavailable = errors.New("rotation is not configured")
	// ErrInUse: the connection still has managed keys, which need its key
	// to be revoked and rotated.
	ErrInUse = errors.New("connection has managed keys")
)

// FieldError names one bad field of a request.
type FieldError struct {
	// Field is the JSON path of the field, such as "credentials.url".
	Field string `json:"field"`
	// Message says what is wrong, without repeating secret input.
	Message string `json:"message"`
}

// Error is a failure whose Message (and Details) are safe to show to users.
type Error struct {
	// Kind is one of the sentinel errors of this package.
	Kind error
	// Message explains the failure to a user.
	Message string
	// Details names bad fields (ErrInvalid) or the rejected key (ErrRejected).
	Details []FieldError
	// Err is the underlying cause, for logs; nil if there is none.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, d := range e.Details {
		b.WriteString("; " + d.Field + ": " + d.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// invalid builds an ErrInvalid error from field errors.
func invalid(details ...FieldError) *Error {
	return &Error{Kind: ErrInvalid, Message: "the request is invalid", Details: details}
}

// fieldErrors collects field errors in order.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, message string) { *f = append(*f, FieldError{field, message}) }

// err returns nil when no field failed.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid(f...)
}
