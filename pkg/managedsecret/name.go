package managedsecret

import (
	"strings"

	"github.com/ddconn/ddconn/pkg/connection"
)

// Kind is the kind of a managed key.
type Kind string

// The kinds of managed keys; each is also the first segment of its secret's
// name after the prefix.
const (
	AppKey Kind = "keys"
	APIKey Kind = "api-keys"
)

// Name identifies a managed key: its kind, its connection and its own name.
type Name struct {
	Kind       Kind
	Connection string
	Key        string
}

// ValidKeyName reports whether name is a valid managed key name: the rule of
// connection names, 1–64 of a-z, 0-9 and '-', starting and ending with a
// letter or digit.
func ValidKeyName(name string) bool { return connection.ValidName(name) }

// KeyNameRule says what ValidKeyName accepts, for error messages.
const KeyNameRule = "must be 1–64 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

// SecretName returns the name of the managed key's secret.
func (n Name) SecretName(prefix string) string {
	return prefix + string(n.Kind) + "/" + n.Connection + "/" + n.Key
}

// Prefix returns the name prefix shared by the secrets of every managed key
// of kind k of connection conn.
func Prefix(prefix string, k Kind, conn string) string {
	return prefix + string(k) + "/" + conn + "/"
}

// ParseName returns the managed key a secret name belongs to; ok is false
// for a connection's secret or any other name.
func ParseName(prefix, secretName string) (n Name, ok bool) {
	rest, ok := strings.CutPrefix(secretName, prefix)
	if !ok {
		return Name{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || (Kind(parts[0]) != AppKey && Kind(parts[0]) != APIKey) ||
		!connection.ValidName(parts[1]) || !ValidKeyName(parts[2]) {
		return Name{}, false
	}
	return Name{Kind: Kind(parts[0]), Connection: parts[1], Key: parts[2]}, true
}

// keyNamePrefix starts the name of every Datadog key ddconn creates for a
// managed key. It differs from the "ddconn:" of a connection's own keys, so
// that a connection whose owner is the same service account never takes a
// managed key for one of its orphans.
const keyNamePrefix = "ddconn-managed:"

// DatadogKeyName is the name of the Datadog key created for the managed key
// n under token: "ddconn-managed:<kind>/<connection>/<name>:<token>". As for
// a connection's keys, deriving it from the token records the intent in
// Datadog itself, so a retry or the sweeper finds a key never stored.
func (n Name) DatadogKeyName(token string) string {
	return n.DatadogKeyNamePrefix() + token
}

// DatadogKeyNamePrefix starts the names of every Datadog key created for n;
// the trailing colon keeps key "a" from matching keys of "a-b".
func (n Name) DatadogKeyNamePrefix() string {
	return keyNamePrefix + string(n.Kind) + "/" + n.Connection + "/" + n.Key + ":"
}
