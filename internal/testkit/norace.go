//go:build !race

package testkit

// RaceEnabled reports whether the binary runs under the race detector:
// tests too slow under it skip themselves, and `make unit` runs them
// without it.
const RaceEnabled = false
