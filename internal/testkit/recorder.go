package testkit

import "context"

// Recorder is a fake event handler for a function's dispatch tests: Handle
// keeps every event it is given and answers Err.
type Recorder[E any] struct {
	Events []E
	Err    error
}

// Handle records ev and returns r.Err.
func (r *Recorder[E]) Handle(_ context.Context, ev E) error {
	r.Events = append(r.Events, ev)
	return r.Err
}
