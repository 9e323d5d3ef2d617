// Package duration reads the durations people type into ddconn and its
// stand-ins: Go's syntax ("36h", "90m") or whole days ("7d"), which Go's
// time.ParseDuration does not accept.
package duration
