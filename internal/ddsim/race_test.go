//go:build race

package ddsim

// raceEnabled reports whether the test binary runs under the race detector.
const raceEnabled = true
