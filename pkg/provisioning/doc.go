// Package provisioning turns EventBridge requests into connections and
// managed keys, and reports each outcome as an event.
//
// A platform's pipeline puts an event with source [RequestSource] on the
// configured bus; the create function receives it (delivery is
// at-least-once) and the [Processor] carries it out:
//
//   - "Create Connection" creates a connection from keys the caller wrote
//     to a staging secret, never from the event itself;
//   - "Provision Application Key" and "Provision API Key" mint managed keys;
//   - "Delete Managed Key" revokes and deletes one.
//
// Every request is idempotent in its event id: the ClientRequestToken of
// the secret it creates and the name of the key it mints are derived from
// the id, and the secret is tagged with it, so a duplicate or retried
// delivery finds the work already done (or loses the race for the secret
// name and deletes the key it minted) and reports the same outcome.
//
// Outcomes go back to the same bus with source [OutcomeSource]; none carries
// key material.
package provisioning
