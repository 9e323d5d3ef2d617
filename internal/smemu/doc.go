// Package smemu is a local AWS Secrets Manager: an HTTP server that speaks
// the service's AWS JSON 1.1 protocol well enough for the unmodified
// aws-sdk-go-v2 client (BaseEndpoint or AWS_ENDPOINT_URL_SECRETS_MANAGER)
// and the aws CLI (--endpoint-url), plus the rotation machinery Secrets
// Manager runs behind RotateSecret. ddconn's tests and `make dev` use it in
// place of the real service.
//
// # Protocol
//
// Requests are POST / with X-Amz-Target: secretsmanager.<Operation> and a
// JSON body; SigV4 headers are accepted without verification. Errors are
// {"__type": "...", "Message": "..."} with HTTP 400, except
// InternalServiceError (500). Timestamps are epoch seconds. Unknown
// operations answer UnknownOperationException.
//
// Implemented: CreateSecret, DescribeSecret, GetSecretValue, PutSecretValue,
// UpdateSecret, UpdateSecretVersionStage, RotateSecret, CancelRotateSecret,
// ListSecrets, ListSecretVersionIds, DeleteSecret, RestoreSecret,
// TagResource, UntagResource, PutResourcePolicy, GetResourcePolicy,
// DeleteResourcePolicy.
//
// # Fidelity
//
// Behaviour follows the project's Secrets Manager reference
// (shared/reference/secretsmanager.md): ARNs name-XXXXXX with a random
// suffix that changes when a name is reused; SecretId as name, ARN or
// partial ARN (a partial ARN fails for names that end in "-" plus six
// characters, as on AWS); ClientRequestToken idempotency (same token and
// value is a retry, another value ResourceExistsException); one version per
// staging label, AWSPREVIOUS following every AWSCURRENT move, the first
// value of a secret always AWSCURRENT, value-less versions answering
// ResourceNotFoundException; deletion with a 7–30 day recovery window or
// ForceDeleteWithoutRecovery; the documented limits, error types and
// messages. ListSecrets filters (name, tag-key, tag-value: case-sensitive
// prefix; description and all: case-insensitive word search, with the
// word splitting AWS was observed to use) combine with AND, their values
// with OR, and a leading "!" negates a value; pages are stable-ordered
// and NextToken survives deletions between pages.
//
// # Rotation
//
// RotateSecret checks that a rotation function is configured (else
// InvalidRequestException) and reachable through the Invoker (else
// AccessDeniedException, saving nothing), refuses with "A previous rotation
// isn't complete. That rotation will be reattempted." while AWSPENDING sits
// on a version other than AWSCURRENT — and re-queues that rotation — then
// stores the rules, creates the value-less AWSPENDING version named by the
// ClientRequestToken and returns. The emulator's scheduler then invokes
// the function for createSecret, setSecret, testSecret and
// finishSecret, back to back, with {"Step", "SecretId" (the ARN),
// "ClientRequestToken", "RotationToken"}; every attempt has a fresh
// RotationToken. As on AWS, rotations of different secrets are independent:
// each attempt runs on its own goroutine (at most Options.MaxParallel at
// once), so a slow or failing rotation delays no other secret's, and a
// secret has one attempt running at a time. The emulator never moves labels on its own: an attempt
// succeeds only if the token is AWSCURRENT after finishSecret, which sets
// LastRotatedDate and recomputes NextRotationDate. A failed attempt leaves
// AWSPENDING in place and is retried after Options.RetryInterval, up to
// Options.MaxAttempts; then the rotation stays incomplete until the next
// RotateSecret or scheduled window re-queues it. RotateImmediately=false runs
// only testSecret against a temporary AWSPENDING copy of the current value,
// then removes it. CancelRotateSecret disables rotation, stops the attempt
// after its running step, clears the rotation dates and returns the
// incomplete version, whose AWSPENDING the caller must remove.
//
// Schedules (AutomaticallyAfterDays, rate(N hours|days), cron(0 H DoM Mon
// DoW *) in UTC) are evaluated on the emulator's Clock, which Advance or
// POST /_emu/clock {"advance":"24h"} moves forward; due rotations are
// queued synchronously by Advance and by the scheduler's tick.
//
// Rotation functions are reached through an Invoker: InvokerFunc runs a Go
// function in process, RIEInvoker POSTs to a Lambda Runtime Interface
// Emulator, and Router chooses one per function ARN.
//
// # Dev and test hooks
//
// Options.Latency (SetLatency) delays every API request, as the round trip
// to AWS would; Requests counts them.
// Faults make the next N calls of an operation fail with a chosen error
// type and/or wait: AddFault from Go, or POST /_emu/faults
// {"operation":"PutSecretValue","error":"InternalServiceError","count":1,"delayMs":0}
// and DELETE /_emu/faults over HTTP. Options.DataFile keeps the state in a
// JSON file (mode 0600: it holds secret values), replaced atomically after
// every change, so `make dev` survives restarts.
//
// # Deviations
//
// Known differences from AWS, deliberate or unconfirmed:
//   - Duration (the rotation window) is validated and stored but rotations
//     start at the beginning of the window, not at a random time inside it;
//     NextRotationDate is that exact instant, not a date.
//   - AutomaticallyAfterDays and rate() count from the last rotation (or the
//     last manual AWSCURRENT change, or when the rules were set); AWS's
//     exact window placement is not reproduced. DescribeSecret does not
//     derive AutomaticallyAfterDays from a ScheduleExpression.
//   - Retry policy is configurable (RetryInterval, MaxAttempts); AWS's real
//     schedule is undocumented. Retries count on the emulator Clock, so
//     Advance also skips retry delays. A failed RotateImmediately=false test
//     is not retried. Rotation jobs are not persisted: after a restart an
//     incomplete rotation waits for the next RotateSecret or window.
//   - A new AWSCURRENT value written by PutSecretValue/UpdateSecret while a
//     rotation is incomplete strips AWSPENDING and abandons the rotation
//     (CloudTrail RotationAbandoned); AWS documents the event, not its
//     exact rules.
//   - ForceDeleteWithoutRecovery purges at once (AWS: within seconds).
//     Scheduling a secret for deletion, or purging it, cancels its rotation. RestoreSecret on a live secret succeeds.
//   - Unconfirmed messages and types are the emulator's own wording:
//     GetSecretValue by VersionId of a value-less version ("…for VersionId:
//     <id>"), UpdateSecretVersionStage with an unknown version
//     (ResourceNotFoundException) or a label not on RemoveFromVersionId
//     (InvalidParameterException), more than 20 labels
//     (LimitExceededException), more than 50 tags or aws: tag keys
//     (InvalidParameterException), schedule and Duration errors
//     (InvalidParameterException), NextToken errors, model constraint
//     violations (ValidationException "1 validation error detected: …",
//     never echoing the value), RotateSecret reusing an existing version's
//     token (ResourceExistsException).
//   - Resource policies are stored and returned as put, never enforced. A
//     document that is not a JSON object with a Statement answers
//     MalformedPolicyDocumentException; with BlockPublicPolicy, an Allow
//     statement for every principal ("*") without a Condition answers
//     PublicPolicyException (AWS runs a fuller analysis). Putting or
//     deleting a policy of a secret scheduled for deletion answers
//     InvalidRequestException (unconfirmed); deleting a policy a secret does
//     not have succeeds.
//   - Versions beyond 100 that are unlabelled and a day old are purged;
//     exceeding the quota otherwise never fails.
//   - ListSecrets defaults to 100 results, sorted by creation date
//     ascending; it is immediately consistent (AWS: up to minutes).
//     primary-region and owning-service filters match nothing (no replicas,
//     no service-owned secrets). A negated tag filter matches secrets with
//     no tag matching the value.
//   - Not implemented: replication (AddReplicaRegions is refused),
//     BatchGetSecretValue, GetRandomPassword, ValidateResourcePolicy, KMS
//     (KmsKeyId is stored and echoed, nothing is encrypted), LastAccessedDate
//     is recorded by day but only saved to DataFile with the next change.
//
// Known moto deviations are listed, each with its source, in the
// conformance table testdata/conformance.json, whose cases skip moto for
// them (SMEMU_CONFORMANCE_ALL=1 runs them to confirm they still fail). They
// include: the
// RotateSecret "in progress" rule inverted, the secret name sent as
// SecretId instead of the ARN, rotation without a function, no name or
// value validation, ResourceNotFoundException as HTTP 404, and GetSecretValue
// ignoring AWSCURRENT moved by UpdateSecretVersionStage.
package smemu
