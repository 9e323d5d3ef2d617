// Package managedsecret defines the secrets of managed keys: the keys ddconn
// mints for a connection's consumers, each stored in a secret of its own.
//
// A managed application key lives in "<prefix>keys/<connection>/<name>" and
// a managed API key in "<prefix>api-keys/<connection>/<name>". Connection
// names never contain "/", so these names can never be mistaken for a
// connection's secret, although they share its prefix; every listing of
// connections must still skip them (ParseName tells them apart).
//
// The package is pure: names, documents and the names of the Datadog keys
// that rotations create. Package managedkey mints and deletes managed keys;
// package rotation rotates them.
package managedsecret
