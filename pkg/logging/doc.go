// Package logging builds ddconn's log/slog logger: JSON only, one request id
// on every record, and key material redacted as a last line of defence (the
// code never logs keys on purpose; this catches mistakes).
package logging
