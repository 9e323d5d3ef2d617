// Package access decides who may touch which connection. Every connection
// belongs to one team; an access Policy maps callers — IAM principals (by
// ARN pattern), JWT groups, and the AWS accounts events come from or the
// team buses they came through — to teams, and names the administrators.
//
// The transports (the HTTP API, provisioning events) turn a request into
// an Identity, Resolve it against the policy into a Caller, and put the
// Caller in the context (WithCaller). The services decide on it where they
// have read the connection's team, so one check serves every transport:
//
//   - a caller sees a connection (Sees) when it is an administrator or a
//     member of its team; a connection it does not see answers as if it did
//     not exist;
//   - administrators alone move a connection to another team, change the
//     service accounts it may mint for, touch a connection with no team and
//     mint unscoped keys (Admin);
//   - minted keys carry only the scopes the connection's team may grant
//     (Caller.CheckGrant): by default none of ManagementScopes;
//   - a managed key names readers only in accounts the connection's team
//     may (Caller.CheckReaders): its consumerAccounts, by default its
//     accounts.
//
// Work that ddconn does by itself (rotation steps, the sweeper) carries no
// Caller and is not restricted. Without a policy every caller is an
// administrator: ddconn runs as it does for a single team.
//
// Every decision the services make on a caller's behalf is written as one
// audit record (Audit), with the caller, the team, the action, the target
// and the outcome, never key material.
package access
