package rotation

import "strings"

// keyNamePrefix starts the name of every application key ddconn creates.
const keyNamePrefix = "ddconn:"

// KeyName is the name of the application key a rotation creates:
// "ddconn:<connection>:<token>". Deriving it from the rotation's token makes
// Datadog itself record the intent, so a retried createSecret (or the
// sweeper) finds a key whose secret was never stored.
func KeyName(connection, token string) string {
	return KeyNamePrefix(connection) + token
}

// KeyNamePrefix starts the names of every key rotations of connection
// create. The trailing colon keeps connection "prod" from matching keys of
// "prod-eu".
func KeyNamePrefix(connection string) string {
	return keyNamePrefix + connection + ":"
}

// ConnectionName returns the connection a secret belongs to: its name
// without prefix. ok is false if the name lacks the prefix, nothing follows
// it, or what follows holds a "/": connection names never do, and the
// secrets of managed keys ("<prefix>keys/<connection>/<name>", see package
// managedsecret) share the prefix.
func ConnectionName(prefix, secretName string) (name string, ok bool) {
	name, ok = strings.CutPrefix(secretName, prefix)
	return name, ok && name != "" && !strings.Contains(name, "/")
}
