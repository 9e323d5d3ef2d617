// Package kmsemu is a local AWS KMS for the operations ddconn calls: the
// grants that let consumers in other accounts decrypt a managed key's
// secret through Secrets Manager. It speaks KMS's AWS JSON 1.1 protocol
// (POST / with X-Amz-Target: TrentService.<Operation>) well enough for the
// unmodified aws-sdk-go-v2 KMS client and the aws CLI; internal/devstack
// serves it on the Secrets Manager emulator's port, as one local AWS
// endpoint.
//
// Implemented: CreateKey and DescribeKey (symmetric keys only, to have a key
// to grant on; nothing is ever encrypted), CreateGrant, ListGrants,
// RevokeGrant, RetireGrant.
//
// # Fidelity
//
// A key is named by its id or its key ARN; aliases and other accounts' keys
// answer NotFoundException. CreateGrant checks GranteePrincipal (1–256
// characters), Operations (one or more of KMS's grant operations), Name
// (1–256 of [a-zA-Z0-9:/_-]) and Constraints, and with a Name it is
// idempotent as AWS documents: a retry with identical parameters returns
// the grant it created, with a new token. ListGrants lists a key's grants
// in creation order, 1–100 a page (default 50), with NextMarker and
// Truncated, filtered by GrantId and GranteePrincipal. RevokeGrant and
// RetireGrant of a grant that does not exist answer NotFoundException.
// Errors are {"__type": "...", "message": "..."} with HTTP 400, except
// KMSInternalException (500).
//
// The emulator's own wording, unconfirmed against AWS: the validation
// messages, the NotFoundException messages, grant ids (64 hex digits) and
// tokens (random, opaque). Grants never expire or take effect: nothing is
// decrypted. Known moto deviations are listed in testdata/conformance.json,
// whose cases run against moto_server too when it is installed.
package kmsemu
