package secretkind

import (
	"strings"
	"time"
)

// The tags ddconn keeps on its secrets. Each tag name is defined here and
// nowhere else. Values stay within Secrets Manager's tag alphabet and 256
// characters (TagValue).
const (
	// TagManagedBy marks every secret ddconn owns; its value is ManagedBy.
	TagManagedBy = "ddconn:managed-by"
	// TagRequestID holds the request (or event) id that created the secret,
	// so a repeated request is answered from the first one's result.
	TagRequestID = "ddconn:request-id"

	// TagSite holds a connection's Datadog site name ("US5").
	TagSite = "ddconn:site"
	// TagOwnerID holds the id of the user or service account owning a
	// connection's application key.
	TagOwnerID = "ddconn:owner-id"
	// TagOwnerIsServiceAccount is "true" when that owner is a service account.
	TagOwnerIsServiceAccount = "ddconn:owner-is-service-account"
	// TagKeyLookup says whether the connection's application key was found
	// among its owner's keys (found|none|ambiguous|forbidden).
	TagKeyLookup = "ddconn:key-lookup"
	// TagRotateOwnKey is "true" when the connection's key can create its
	// own replacement.
	TagRotateOwnKey = "ddconn:rotate-own-key"
	// TagManageServiceAccountKeys is "true" when the connection's key can
	// mint keys for service accounts.
	TagManageServiceAccountKeys = "ddconn:manage-service-account-keys"
	// TagMissingPermissions lists, space separated, the permissions the
	// connection's key lacks (AWS tag values allow no commas).
	TagMissingPermissions = "ddconn:missing-permissions"
	// TagValid and TagLastValidatedAt record the last validation.
	TagValid           = "ddconn:valid"
	TagLastValidatedAt = "ddconn:last-validated-at"
	// TagTeam holds the team a connection belongs to (package access);
	// absent for a connection with no team.
	TagTeam = "ddconn:team"
	// TagAllowedServiceAccounts lists, space separated, the service
	// accounts a connection may mint managed keys for; absent means any.
	TagAllowedServiceAccounts = "ddconn:allowed-service-accounts"

	// TagKeyID holds the id of the AWSCURRENT key of any kind of secret
	// (application key or API key); absent when the id is unknown.
	TagKeyID = "ddconn:application-key-id"
	// TagPreviousKeyID holds the id of the key the last rotation replaced.
	TagPreviousKeyID = "ddconn:previous-application-key-id"
	// TagRevokePrevious holds the revocation policy of the secret's
	// rotations; absent means next-rotation.
	TagRevokePrevious = "ddconn:revoke-previous"
	// TagLastError holds why the last rotation step failed, without key
	// material; a completed rotation removes it.
	TagLastError = "ddconn:last-error"
	// TagRotationStep holds the last rotation step that completed and the
	// version it completed for ("testSecret <version id>"), so the API can
	// show how far a rotation in progress has got.
	TagRotationStep = "ddconn:rotation-step"
	// TagLastWarning holds why the last revocation of a retired key failed;
	// the sweeper retries and removes it once every due revocation is done.
	TagLastWarning = "ddconn:last-warning"
	// TagForcedRevocation holds, without key material, the last
	// revocation the when-unused policy's maxGrace forced while Datadog
	// still reported the key in use: the rotation's warning to whoever
	// still used it.
	TagForcedRevocation = "ddconn:forced-revocation"
	// TagRevokeByHand says that a retired key, whose id ddconn never
	// identified, must be revoked by hand.
	TagRevokeByHand = "ddconn:revoke-by-hand"
	// TagRetirePrefix starts the tags that record retired keys awaiting
	// revocation, one per key: "ddconn:retire:<key id>".
	TagRetirePrefix = "ddconn:retire:"

	// TagReaders is "true" while a managed key may have readers in other
	// accounts: a resource policy naming them and KMS grants for its
	// secret. It is set before either is created and removed only once
	// both are gone, so a delete knows to remove them (package managedkey).
	TagReaders = "ddconn:readers"

	// TagDeleting marks, with the time, a connection being deleted: mints
	// that read it stop (see connection.Service.Delete). A mark older than
	// deletingMarkTTL is one a crashed delete left, and is ignored.
	TagDeleting = "ddconn:deleting"

	// TagKeepKeys is "true" on a connection scheduled for deletion with
	// keepKeys: as its recovery window ends, the sweeper releases its keys
	// instead of revoking them.
	TagKeepKeys = "ddconn:keep-keys"

	// TagLowKeyHeadroom is set by the sweeper while the secret's key owner
	// (or organisation, for API keys) has LowKeyHeadroom or fewer keys left
	// under Datadog's limit; its value says how many.
	TagLowKeyHeadroom = "ddconn:low-key-headroom"

	// TagKind holds a managed key's kind segment ("keys", "api-keys").
	TagKind = "ddconn:managed-key-kind"
	// TagConnection holds the connection a managed key belongs to.
	TagConnection = "ddconn:connection"
	// TagServiceAccountID holds the service account owning a managed
	// application key.
	TagServiceAccountID = "ddconn:service-account-id"
	// TagIncludeAPIKey is "true" when a managed application key's document
	// carries a copy of the connection's API key.
	TagIncludeAPIKey = "ddconn:include-api-key"
	// TagMintToken holds, on a managed key's secret, the token of the mint
	// that created it: the Datadog key it creates is named after it, so a
	// mint that never committed can be rolled back exactly.
	TagMintToken = "ddconn:mint-token"
	// TagFormat holds a managed API key's format, FormatJSON (or absent) or
	// FormatPlain.
	TagFormat = "ddconn:format"
	// TagURL holds, on a FormatPlain secret, the Datadog API URL its key
	// belongs to (the value holds the key alone).
	TagURL = "ddconn:url"
	// TagKeyOfPrefix starts the tags that record, on a FormatPlain secret,
	// the key id each version holds: "ddconn:key-of:<version id>".
	TagKeyOfPrefix = "ddconn:key-of:"
	// TagTombstoneOf holds, on a tombstone, the managed key whose deletion
	// it records ("<kind>/<connection>/<name>").
	TagTombstoneOf = "ddconn:tombstone-of"
)

// deletingMarkTTL bounds how long a TagDeleting mark stops mints: far
// longer than a delete takes.
const deletingMarkTTL = 5 * time.Minute

// Deleting reports whether tags carry a deletion mark younger than
// deletingMarkTTL at now.
func Deleting(tags map[string]string, now time.Time) bool {
	at, err := time.Parse(time.RFC3339, tags[TagDeleting])
	return err == nil && now.Sub(at) < deletingMarkTTL
}

// LowKeyHeadroom is the number of keys left under Datadog's limit at which
// the sweeper warns (TagLowKeyHeadroom): a few more rotations or mints and
// they fail.
const LowKeyHeadroom = 5

// ManagedBy is TagManagedBy's value.
const ManagedBy = "ddconn"

// MaxTagValue is the longest tag value Secrets Manager accepts, in bytes.
const MaxTagValue = 256

// TagValue makes s a valid Secrets Manager tag value: characters outside the
// tag alphabet (letters, digits, spaces and _.:/=+-@) become spaces, runs of
// spaces fold, and the result is cut to MaxTagValue bytes.
func TagValue(s string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" _.:/=+-@", r) {
			return r
		}
		return ' '
	}, s)
	clean = strings.Join(strings.Fields(clean), " ")
	if len(clean) > MaxTagValue {
		clean = clean[:MaxTagValue]
	}
	return clean
}
