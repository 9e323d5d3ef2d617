// Package sweeper is ddconn's janitor for application keys. Run, on a
// schedule (hourly in production, every minute in `make dev`), visits every
// rotated secret (a connection's, or a managed key's) and:
//
//   - deletes the orphans: keys named for the secret by this deployment
//     (secretkind.Name.OwnsKey: "ddconn@<scope>:<connection>:*", or
//     "ddconn-managed@<scope>:<kind>/<connection>/<name>:*" for a managed
//     key, and the unscoped names of older releases), that are older than
//     MinAge, that no labelled version (AWSCURRENT, AWSPREVIOUS,
//     AWSPENDING) refers to, and that no retirement record covers (those
//     are Reconcile's, which honours their grace period). They are what a
//     crashed or abandoned rotation leaves behind;
//   - carries out the retirements that are due (rotation.Reconcile): the
//     "after:<duration>" revocations, and any revocation that failed when
//     the rotation promoted its new key.
//   - rolls back the abandoned mints of managed keys: a mint records its
//     intent as the managed key's own secret, without a value, before it
//     creates a key; such a secret older than MinAge means the mint
//     stopped, so the key named after its token is revoked and the secret
//     deleted (secretkind.RollBackMint);
//   - deletes tombstones older than secretkind.TombstoneTTL;
//   - revokes the keys of a connection whose recovery window ends within
//     DeletionMargin: it restores the secret (a pending one cannot be
//     read), revokes (or, deleted with keepKeys, releases) the keys ddconn
//     minted for it, and deletes it;
//   - revokes the strays: keys this deployment named for a secret that is
//     gone for good (deleted outside ddconn without a recovery window),
//     seen in the listing of another secret with the same key owner.
//
// intents.go holds the table of every intent and its recovery.
//
// # Why it is safe to run during a rotation
//
// For each connection the sweeper lists the owner's keys, every page, before
// reading the secret's labels and documents, and decides on that order: a
// key that any labelled version refers to when the labels are read is kept.
// The only keys that can be unreferenced yet about to be stored are those a
// createSecret is making right now, and MinAge (10 minutes by default, the
// WAL rollback age of Vault's secrets engines) keeps the sweeper off them.
// Every delete treats "already gone" as done, so a sweeper and a rotation
// (or two sweepers) deleting the same key both succeed.
//
// A Run lists each key owner's keys once and shares the listing among
// every secret whose keys that owner holds (listings.go: the connections
// of one owner on one site, the managed application keys of one service
// account, the managed API keys of one connection), keyed by the owner and
// the credentials it was made with. This keeps the order: a listing reused
// for a later secret was made before that secret's labels are read, so
// for that secret it is simply an older listing, and a key created since
// is absent from it and left alone. A failed listing is not shared.
//
// # One invocation, or one page per invocation
//
// Run sweeps every page in one invocation. A fanned-out sweep instead
// takes Pages (ListSecrets only) and hands each page to its own
// invocation of RunPage, so no invocation's work grows with the number of
// secrets and a failed page is retried on its own (see "Sweep fan-out" in
// docs/architecture.md). A page shares its listings only among its own
// secrets. Pages are in name order (ListSecrets' SortBy name), so the
// secrets of one owner, such as a connection's managed keys, are
// adjacent; where a page would end inside such a run, it takes the rest
// of the run from the next page, which skips it (PageRequest's Take and
// Skip), so a run shorter than a page is swept, and its owners' keys
// listed, by one page. Its strays are safe without every secret listed: a stray is
// revoked only after its secret, read again by name, is not found. Those
// reads are one per secret and at most maxStrayReads a pass, in a window
// that moves every hour, so a page's work does not grow with the other
// secrets its owners hold.
//
// # Reading only the secrets with work
//
// A secret is read (its labelled versions) only when the listing and its
// metadata from ListSecrets leave something to decide (needsReading): an
// old enough key named for it whose token is not a version labelled
// AWSCURRENT or AWSPREVIOUS, or a retirement that may be due. Skipping a
// secret deletes nothing, so this judgement can err only towards reading.
// A sweep over secrets with nothing to do costs one ListSecrets page per
// 100 secrets, one key listing per owner, and one read of each
// connection's current document (the credentials every listing of its
// secrets is made with).
//
// A connection's keys are listed and deleted through the current-user
// routes, authenticated with the connection's AWSCURRENT key; a managed
// key's through its service account's routes (the secret's
// ddconn:service-account-id), authenticated with its connection's
// AWSCURRENT key; a managed API
// key's among the organisation's API keys, with the same connection key.
// The sweeper never sees application keys of other owners, and keys of
// other secrets do not carry the secret's name prefix.
//
// Connections that never had a rotation configured and have no retirement
// records are skipped without a Datadog call: no ddconn key of theirs can
// exist.
package sweeper
