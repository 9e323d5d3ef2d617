// Package connection holds ddconn's rules for Datadog connections: what a
// valid request is, which live checks prove a pair of keys, how a connection
// is stored, and what a connection looks like to users.
//
// A connection named N is one Secrets Manager secret named <prefix>N. Its
// SecretString is a Document (the keys plus what the checks learnt about
// them); its description is the connection's description; and its tags carry
// the non-secret metadata (site, owner, application key id, capabilities,
// last validation), so listing connections never reads a secret value.
//
// The Service talks to Datadog and Secrets Manager through the small
// interfaces declared here (datadogAPI, secretStore), implemented by
// pkg/datadog and pkg/secretstore. Failures callers must tell apart are
// *Error values wrapping one of the sentinel kinds (ErrInvalid, ErrNotFound,
// ErrExists, ErrPendingDeletion, ErrRotationInProgress, ErrRejected,
// ErrDatadogUnavailable, ErrStoreUnavailable); their Message is safe to show
// to users. Any other error is a bug.
//
// Key material (API keys, application keys, the SecretString) never appears
// in an error, a log record or a Connection.
package connection
