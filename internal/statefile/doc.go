// Package statefile writes the data files the stand-ins (internal/smemu,
// internal/ddsim) keep between runs: next to the file, then renamed into
// place, so a crash leaves the old file or the new one, never a torn one.
package statefile
