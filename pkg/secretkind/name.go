package secretkind

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Name identifies a ddconn secret: its kind, its connection and, for a
// managed key, the key's own name.
type Name struct {
	Kind       Kind
	Connection string
	// Key is the managed key's name; "" for a connection.
	Key string
}

// ConnectionName is the Name of connection conn's own secret.
func ConnectionName(conn string) Name { return Name{Kind: Connection, Connection: conn} }

// Managed reports whether n names a managed key rather than a connection.
func (n Name) Managed() bool { return n.Kind != Connection }

// SecretName returns the name of n's secret.
func (n Name) SecretName(prefix string) string {
	if !n.Managed() {
		return prefix + n.Connection
	}
	return Prefix(prefix, n.Kind, n.Connection) + n.Key
}

// Prefix returns the name prefix shared by the secrets of every managed key
// of kind k of connection conn.
func Prefix(prefix string, k Kind, conn string) string {
	return prefix + k.Segment() + "/" + conn + "/"
}

// ParseName tells which secret secretName is; ok is false for a name that
// is not a ddconn secret under prefix.
func ParseName(prefix, secretName string) (n Name, ok bool) {
	rest, ok := strings.CutPrefix(secretName, prefix)
	if !ok {
		return Name{}, false
	}
	if ValidName(rest) {
		return ConnectionName(rest), true
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !ValidName(parts[1]) || !ValidName(parts[2]) {
		return Name{}, false
	}
	k, ok := managedKind(parts[0])
	if !ok {
		return Name{}, false
	}
	return Name{Kind: k, Connection: parts[1], Key: parts[2]}, true
}

// ValidName reports whether name is a valid connection or managed key
// name: NameRule.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > maxNameLength || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// maxNameLength is the longest connection or managed key name.
const maxNameLength = 64

// NameRule says what ValidName accepts, for error messages.
const NameRule = "must be 1–64 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

// Prefixes of the names of the Datadog keys ddconn creates. A managed key's
// differs from a connection's, so that a connection whose owner is the same
// service account never takes a managed key's key for one of its orphans.
const (
	connectionKeyPrefix = "ddconn"
	managedKeyPrefix    = "ddconn-managed"
)

// KeyScope names the ddconn deployment that owns secretARN's keys: a hash
// of the ARN's partition, region and account, and of the secret name
// prefix — everything that makes two deployments' secrets distinct. It is
// part of the name of every key ddconn creates (DatadogKeyName), so two
// deployments sharing a Datadog key owner never take each other's keys for
// their own. It is "" for an ARN it cannot read, which gives the unscoped
// names of older releases.
func KeyScope(prefix, secretARN string) string {
	parts := strings.SplitN(secretARN, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[5] != "secret" {
		return ""
	}
	sum := sha256.Sum256([]byte(parts[1] + "\x00" + parts[3] + "\x00" + parts[4] + "\x00" + prefix))
	return hex.EncodeToString(sum[:keyScopeBytes])
}

// keyScopeBytes is how much of the hash KeyScope keeps: 48 bits.
const keyScopeBytes = 6

// DatadogKeyName is the name of the Datadog key created for n under token
// by the deployment scope (KeyScope): "ddconn@<scope>:<connection>:<token>"
// for a connection, "ddconn-managed@<scope>:<kind>/<connection>/<name>:<token>"
// for a managed key. Deriving it from the token makes Datadog itself record
// the intent, so a retried step (or the sweeper) finds a key whose secret
// was never stored.
func (n Name) DatadogKeyName(scope, token string) string {
	return n.DatadogKeyNamePrefix(scope) + token
}

// DatadogKeyNamePrefix starts the name of every Datadog key created for n
// under scope; an empty scope gives the unscoped prefix of older releases
// ("ddconn:<connection>:"). The trailing colon keeps "prod" from matching
// the keys of "prod-eu".
func (n Name) DatadogKeyNamePrefix(scope string) string {
	return keyNameHead(n.Kind, scope) + n.keyNameBody() + ":"
}

// OwnsKey reports whether keyName is the name of a key created for n:
// under scope, or unscoped by an older release.
func (n Name) OwnsKey(scope, keyName string) bool {
	return strings.HasPrefix(keyName, n.DatadogKeyNamePrefix(scope)) ||
		strings.HasPrefix(keyName, n.DatadogKeyNamePrefix(""))
}

// ParseDatadogKeyName tells which secret a key named keyName was created
// for, when the deployment scope created it; ok is false for any other
// name, unscoped ones included.
func ParseDatadogKeyName(scope, keyName string) (n Name, ok bool) {
	if scope == "" {
		return Name{}, false
	}
	for _, k := range []Kind{Connection, AppKey} {
		rest, found := strings.CutPrefix(keyName, keyNameHead(k, scope))
		if !found {
			continue
		}
		body, _, hasToken := strings.Cut(rest, ":")
		n, ok := ParseName("", body)
		return n, ok && hasToken && n.Managed() == (k != Connection)
	}
	return Name{}, false
}

// ReleasedKeyName is the name a key ddconn created is given when ddconn lets
// it go (a deletion with keepKeys): it no longer starts like any name ddconn
// creates, so no sweep ever takes it for its own again.
func ReleasedKeyName(keyName string) string { return "released-" + keyName }

// namedByDdconn reports whether keyName has the form of the names ddconn
// gives keys, scoped or not.
func namedByDdconn(keyName string) bool {
	for _, head := range []string{connectionKeyPrefix, managedKeyPrefix} {
		if strings.HasPrefix(keyName, head+":") || strings.HasPrefix(keyName, head+"@") {
			return true
		}
	}
	return false
}

// keyNameHead is "<kind prefix>@<scope>:", or "<kind prefix>:" unscoped.
func keyNameHead(k Kind, scope string) string {
	head := connectionKeyPrefix
	if k != Connection {
		head = managedKeyPrefix
	}
	if scope != "" {
		head += "@" + scope
	}
	return head + ":"
}

// keyNameBody is the part of a key name between its head and its token.
func (n Name) keyNameBody() string {
	if !n.Managed() {
		return n.Connection
	}
	return n.Kind.Segment() + "/" + n.Connection + "/" + n.Key
}

// String is the secret's name without prefix, for logs and messages.
func (n Name) String() string { return n.SecretName("") }

// TombstoneName is the name of the tombstone of the request requestToken
// (secretstore.TokenFor of its id): "<prefix>tombstones/<token>". ParseName
// never takes it for a connection or a managed key.
func TombstoneName(prefix, requestToken string) string { return TombstonePrefix(prefix) + requestToken }

// TombstonePrefix starts the name of every tombstone.
func TombstonePrefix(prefix string) string { return prefix + "tombstones/" }

// TombstoneTTL is how long a tombstone is kept: longer than any redelivery
// of an event (EventBridge retries for 24 hours; a dead-letter queue keeps
// a message at most 14 days).
const TombstoneTTL = 15 * 24 * time.Hour
