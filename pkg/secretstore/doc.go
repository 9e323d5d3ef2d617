// Package secretstore is ddconn's adapter over AWS Secrets Manager
// (aws-sdk-go-v2/service/secretsmanager). It is the only package that
// imports that SDK.
//
// A Store wraps one SDK client built at New: the SDK's standard retryer
// retries throttling and server errors, and the endpoint is the SDK's own
// choice (AWS_ENDPOINT_URL_SECRETS_MANAGER) unless Options.Endpoint names
// one, which is how dev and tests reach the local emulator.
//
// Failed calls return an *Error that wraps one of the sentinel errors
// (ErrNotFound, ErrExists, ErrPendingDeletion, ErrRotationInProgress,
// ErrThrottled, ErrInvalid, ErrUnavailable) together with the SDK's error, so
// callers branch with errors.Is and logs keep the AWS detail. AWS error
// messages name secrets but never contain secret values; nothing in this
// package formats a value into an error or a log.
package secretstore
