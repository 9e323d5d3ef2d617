// Package secretkind defines what a ddconn secret is, once for every kind:
// its name, the tags ddconn keeps on it, the document stored as its value,
// and how the Datadog keys it holds are named, created, validated and
// revoked.
//
// There are three kinds, each a small value behind the Kind interface:
//
//   - Connection: "<prefix><connection>", a connection's own API key and
//     application key; rotations replace the application key.
//   - AppKey: "<prefix>keys/<connection>/<name>", a managed application key
//     of one of the connection's service accounts.
//   - APIKey: "<prefix>api-keys/<connection>/<name>", a managed API key of
//     the organisation.
//
// Every package that mints, rotates, lists or deletes keys works on the
// Document view and calls the kind, so each operation is written once.
// Connection names never contain "/", so a managed key's secret can never
// be mistaken for a connection's, although they share the prefix.
//
// The package sits below every other ddconn package but pkg/site and
// pkg/datadog: it knows nothing of connections' rules, rotation or HTTP.
package secretkind
