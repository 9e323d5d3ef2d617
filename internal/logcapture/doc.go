// Package logcapture holds what tests use to capture the JSON log lines a
// running stack writes from many goroutines, so they can assert on them
// (for instance, that no key material was ever logged).
package logcapture
