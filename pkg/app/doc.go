// Package app builds what every ddconn function starts from: the
// configuration read once from the environment, the JSON logger, and the two
// adapters (Secrets Manager and Datadog) configured for a function's time
// budget. Each functions/*/main.go calls Main once, at init, and wires the
// App it is given into its own service and handler; Connections and
// ManagedKeys build the two services the API functions share from the same
// configuration.
package app
