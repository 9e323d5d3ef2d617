//go:build race

package scale

// raceEnabled reports whether the test binary runs under the race detector.
const raceEnabled = true
