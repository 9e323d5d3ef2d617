package rotation

import "errors"

// Outcomes a caller (or a test) branches on. Step errors wrap one of them
// when the cause is a rule of this package rather than a failed call.
var (
	// ErrRotationDisabled: the secret's rotation is not enabled.
	ErrRotationDisabled = errors.New("rotation is not enabled for the secret")
	// ErrUnknownVersion: the event's token is not a version of the secret.
	ErrUnknownVersion = errors.New("the rotation token is not a version of the secret")
	// ErrNotPending: the event's version is neither AWSCURRENT nor AWSPENDING.
	ErrNotPending = errors.New("the rotation version is not staged AWSPENDING")
	// ErrUnknownStep: the event names no rotation step.
	ErrUnknownStep = errors.New("unknown rotation step")
	// ErrForeignSecret: the secret's name lacks the connection prefix. The
	// function leaves such a secret untouched, not even tagging the error.
	ErrForeignSecret = errors.New("the secret is not a ddconn connection secret")
	// ErrNotConnection: a version of the secret is not a readable
	// connection document.
	ErrNotConnection = errors.New("the secret value is not a ddconn connection document")
	// ErrMismatch: the pending document does not belong to the same owner
	// and site as the current one (the confused-deputy guard).
	ErrMismatch = errors.New("the pending application key does not belong to the current key's owner and site")
	// ErrScopesUnknown: the current key was never identified and its
	// document records no scopes, so a replacement with the same scopes
	// cannot be made. ddconn never guesses.
	ErrScopesUnknown = errors.New("the current application key was never identified, so its scopes are unknown")
	// ErrCurrentKeyMissing: the current key's id is not among its owner's keys.
	ErrCurrentKeyMissing = errors.New("the current application key is not among its owner's application keys")
	// ErrKeyNotListed: the new key cannot see itself among its owner's keys,
	// so it could not do the next rotation.
	ErrKeyNotListed = errors.New("the new application key is not among the keys it lists")
	// ErrNotActive: the new key did not authenticate within the activation wait.
	ErrNotActive = errors.New("the new application key did not become valid in time")
	// ErrTooManyRetirements: MaxPendingRetirements keys await revocation.
	ErrTooManyRetirements = errors.New("too many retired application keys await revocation")
)
