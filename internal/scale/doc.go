// Package scale measures ddconn at size in the local stand-ins: it seeds N
// secrets (connections and the managed keys they mint, in a fixed mix),
// turns on latency and Datadog's rate limits in the stand-ins, and
// measures sweeps, the list page, and a burst of N/10 rotations in one
// window. `make bench-scale` (scripts/benchscale) runs it for N = 100,
// 1,000 and 10,000 and writes docs/scale.md; a reduced run in this
// package's test asserts the invariants in `make test`.
//
// Latency is real time (time.Sleep in the stand-ins before each request),
// not a virtual clock, so wall times include ddconn's own work and
// contention on the machine.
package scale
