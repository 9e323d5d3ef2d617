// Package managedkey mints, reads and deletes managed application keys: one
// narrowly scoped key per consuming service, minted for a service account
// with the connection's current key, stored in a secret of its own
// ("<prefix>keys/<connection>/<name>", see package managedsecret) and
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
// The mint first records its intent on the connection's secret (a tag,
// secretkind.Mint). The Datadog key is then named from a fresh token
// ("ddconn-managed:keys/<connection>/<name>:<token>"; derived from the
// request id for event-driven requests), created on the service account's
// routes with exactly the requested scopes, then stored by CreateSecret
// with the same token, then rotation is enabled and the intent removed. If
// storing fails and the secret is known not to exist, the key is deleted
// at once. A crash between the key and the secret leaves a key whose name
// says which managed key it was for, and the intent: the sweeper follows
// the intent once it is older than MinAge and deletes the key (younger
// keys may be a concurrent mint's); the next mint of the same name also
// deletes such keys.
//
// The same order applies to managed API keys (MintAPIKey and friends),
// whose keys are the organisation's API keys, minted and deleted with the
// connection's current keys (api_keys_read, api_keys_write,
// api_keys_delete).
//
// Deleting a managed key revokes every key ddconn minted for it (every key
// of the service account whose name carries its prefix, and every key a
// labelled version holds), then deletes the secret without a recovery
// window, so the name can be minted again; KeepKeys leaves the keys.
package managedkey
