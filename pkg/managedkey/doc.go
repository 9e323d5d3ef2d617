// Package managedkey mints, reads and deletes managed application keys: one
// narrowly scoped key per consuming service, minted for a service account
// with the connection's current key, stored in a secret of its own
// ("<prefix>keys/<connection>/<name>", see package secretkind) and
// rotated by the same rotate function as connections (package rotation).
//
// # Guards
//
// Minting refuses, before anything is created:
//   - an empty or missing scope list, unless AllowUnscoped (an unscoped key
//     has every permission of its service account);
//   - a service account that does not exist, is disabled, or is a human
//     user (Datadog's service_account attribute);
//   - a service account outside the connection's allowed list, when the
//     connection has one (secretkind.TagAllowedServiceAccounts on its secret).
//
// # Order of a mint, and what a crash leaves
//
// A mint first records its intent in the store it commits to: the managed
// key's own secret, created without a value and tagged with the mint's
// token (see intent.go). The Datadog key is then named from the token
// ("ddconn-managed@<scope>:keys/<connection>/<name>:<token>"; derived from the
// request id for event-driven requests), created on the service account's
// routes with exactly the requested scopes, and stored as the secret's
// first version: the commit. Rotation is enabled last. A failure after the
// intent rolls the mint back at once (the key named after the token is
// revoked, the secret deleted); a crash leaves a secret without a value,
// which the sweeper rolls back once it is older than MinAge, and which a
// later mint of the same name rolls back itself. A mint's intent never
// touches the connection's secret, so a burst of mints cannot run into
// its 50-tag limit, and a connection with a mint in flight counts it as a
// managed key: deleting the connection answers connection_in_use.
//
// Deleting a managed key minted by a request (an event) leaves a tombstone
// (secretkind.TombstoneName), so a late redelivery of that request is
// answered with ErrDeleted instead of minting the key again.
//
// The same order applies to managed API keys (MintAPIKey and friends),
// whose keys are the organisation's API keys, minted and deleted with the
// connection's current keys (api_keys_read, api_keys_write,
// api_keys_delete).
//
// # Readers
//
// A managed key may name readers (MintInput.Readers, UpdateInput): IAM
// roles or users, or whole accounts, usually in other AWS accounts, that
// may read its secret. ddconn sets the secret's resource policy to allow
// exactly them GetSecretValue and DescribeSecret, and gives each a KMS
// grant for Decrypt on the connection key constrained to the secret's ARN
// (see readers.go for the order and why a crash at any step is safe). A
// team names readers only in the accounts the access policy lets it
// (access.CheckReaders). Deleting the key removes both first.
//
// Deleting a managed key revokes every key ddconn minted for it (every key
// of the service account whose name carries its prefix, and every key a
// labelled version holds), then deletes the secret without a recovery
// window, so the name can be minted again; KeepKeys leaves the keys.
package managedkey
