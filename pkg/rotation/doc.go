// Package rotation rotates the application key of a ddconn connection
// through Secrets Manager's rotation protocol, and holds the pure pieces the
// manage API needs to configure and show rotation (ParseSchedule,
// ParseRevokePolicy, StateOf, the Tag* names).
//
// # The steps
//
// Rotator.Handle runs one step of a rotation event. Every step first makes
// the AWS template's checks (rotation enabled, the token is a version, the
// version is AWSPENDING; a version already AWSCURRENT means the rotation is
// committed and the step has nothing left to do). Then:
//
//   - createSecret creates a key named "ddconn@<scope>:<connection>:<token>" for the
//     same owner with exactly the current key's scopes (read from Datadog),
//     after deleting any key of that name an earlier attempt left, and
//     stores the full document as AWSPENDING with the event's RotationToken;
//   - setSecret checks the pending document belongs to the current owner
//     and site (the confused-deputy guard);
//   - testSecret calls validate_keys with the new keys until it passes
//     (Activation bounds the wait) and lists the owner's keys with the new
//     key, which the next rotation will need;
//   - finishSecret records the retirement of the current key, moves
//     AWSCURRENT to the token, removes AWSPENDING, and reconciles.
//
// All calls to Datadog for a connection use the current-user routes
// (datadog.KeyOwner{}), authenticated with the connection's own current key
// (or, once promoted, the new one).
//
// # Managed keys
//
// The same steps, in the same order and with the same crash safety, rotate
// the secrets of managed keys, told apart by name (secretkind.ParseName):
//
//   - a managed application key ("<prefix>keys/<connection>/<name>"): every
//     call is made by its manager, the connection's AWSCURRENT key read at
//     each step, on the service account's routes; the new key is named
//     "ddconn-managed:keys/<connection>/<name>:<token>" with exactly the
//     current key's scopes; testSecret validates it with its API key copy
//     (includeApiKey) or the connection's, and the manager must list it;
//     each rotation refreshes the API key copy from the connection. Every
//     revocation policy applies.
//   - a managed API key ("<prefix>api-keys/<connection>/<name>"): the
//     manager creates a new API key ("ddconn-managed:api-keys/…:<token>"),
//     testSecret waits for /api/v1/validate to accept it. Every revocation
//     policy applies; under the default, next-rotation, two keys
//     alternate, and a rotation deletes the key of two rotations back.
//
// Every step works on the secretkind.Document view and calls the secret's
// secretkind.Kind for its keys, so each step, snapshots, retirements and
// the sweeper are written once for all three kinds.
//
// # Crash safety
//
// Each write is ordered so that a crash or a lost answer after any remote
// call leaves a state that a retry of the same rotation, or the sweeper,
// finishes (the approach of Vault's secrets engines; see
// house-style.md):
//
//   - the key's name records the intent before the key exists; a retry
//     deletes an unstored key of that name and makes a new one, because
//     Datadog shows a secret only at creation;
//   - storing AWSPENDING commits createSecret, and moving AWSCURRENT commits
//     the rotation; everything else is idempotent;
//   - when storing the new key fails, the key is deleted only if the
//     version is known to hold no value (see discardUnstored: a timeout may
//     hide a successful write);
//   - a retired key is recorded in a tag ("ddconn:retire:<key id>", see
//     Retirement) before the promotion, and the record is removed only
//     after the key is revoked. Revocation never fails a promoted rotation:
//     it becomes secretkind.TagLastWarning, and the sweeper retries.
//
// # Revocation policies
//
// secretkind.TagRevokePrevious holds the connection's RevokePolicy:
//
//   - next-rotation (default): a retired key is revoked once no labelled
//     version refers to it, that is when the next rotation demotes its
//     successor. Current and previous keys stay valid.
//   - immediately: revoked as soon as the new key is current.
//   - after:<duration>: revoked once the grace period has passed (by the
//     sweeper), even if AWSPREVIOUS still refers to it.
//   - when-unused (with maxGrace and a quiet period, in the tag's stored
//     form): Reconcile reads the key's last use from its owner's listing
//     (last_used_at, date_last_used), records it on the retirement, and
//     revokes the key once unused for the quiet period since the later of
//     the promotion and its last use, or once maxGrace has passed; a key
//     still in use then is announced first (StillInUseEvent,
//     secretkind.TagForcedRevocation).
//
// A key is never revoked while AWSCURRENT or AWSPENDING refers to it. The
// key the user supplied is revoked by its id like any other; if its id was
// never identified (an empty applicationKeyId), ddconn does not guess:
// secretkind.TagRevokeByHand tells the user to revoke it.
//
// # Rollback
//
// Rotator.Rollback makes AWSPREVIOUS current again with staging labels
// only, after checking at Datadog that its key still authenticates, and
// retires the demoted key under the policy; moving AWSCURRENT names the
// version it leaves, so a rotation promoted meanwhile makes the rollback
// fail instead of being undone (see Rollback for the order).
//
// # Plain API keys
//
// A managed API key minted with format "plain" stores exactly the key as
// each version's value; its URL and each version's key id live in tags
// (secretkind.ParseVersion, secretkind.MarshalVersion). createSecret tags
// the new version's key id before storing the value, and Reconcile drops
// the key-id tags of versions no label holds.
//
// # Events
//
// With a Publisher, finishSecret publishes RotatedEvent right after the
// promotion (again on a retried finishSecret of a committed rotation:
// consumers deduplicate on the version id), and Reconcile RevokedEvent for
// every retired key it revokes. Events carry ids, never key material.
//
// # Choices where the issue is silent
//
//   - A key whose id was never identified can be rotated only if its
//     document records its scopes; otherwise createSecret fails with
//     ErrScopesUnknown rather than guessing (an unscoped replacement could
//     widen access).
//   - At most MaxPendingRetirements retired keys may await revocation; a
//     rotation beyond that fails in createSecret before creating anything.
//   - A step's error is written to secretkind.TagLastError (timestamped, at most 256
//     characters of the tag alphabet, never key material); finishSecret
//     removes it. Reconcile keeps secretkind.TagKeyID and
//     secretkind.TagPreviousKeyID in line with AWSCURRENT and AWSPREVIOUS.
//   - Handle logs one JSON record per step (secret_arn, step, token,
//     outcome, duration_ms, key ids) and counts RotationStepSucceeded or
//     RotationStepFailed (dimension Step) and KeysRevoked.
package rotation
