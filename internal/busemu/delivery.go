package busemu

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DeadLetter is an event whose delivery to a rule's target failed on every
// attempt.
type DeadLetter struct {
	// Rule is the name of the rule whose target failed.
	Rule string
	// Event is the event that was not delivered.
	Event Event
	// Attempts is how many times the target was called.
	Attempts int
	// Err is the last attempt's error.
	Err string
}

// DeadLetters returns the deliveries given up on, oldest first.
func (b *Bus) DeadLetters() []DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.dead)
	for i := range out {
		out[i].Event = cloneEvents([]Event{out[i].Event})[0]
	}
	return out
}

// deliveries tracks delivery goroutines: Idle waits for none to be left,
// Close cancels them and waits.
type deliveries struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending int
	idleCh  chan struct{} // closed while pending == 0
}

func (d *deliveries) init() {
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.idleCh = make(chan struct{})
	close(d.idleCh)
}

// start registers one delivery; false once Close has run.
func (d *deliveries) start() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return false
	}
	if d.pending == 0 {
		d.idleCh = make(chan struct{})
	}
	d.pending++
	d.wg.Add(1)
	return true
}

func (d *deliveries) done() {
	d.mu.Lock()
	d.pending--
	if d.pending == 0 {
		close(d.idleCh)
	}
	d.mu.Unlock()
	d.wg.Done()
}

func (d *deliveries) idle(ctx context.Context) error {
	d.mu.Lock()
	ch := d.idleCh
	d.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("busemu: waiting for deliveries: %w", ctx.Err())
	}
}

func (d *deliveries) close() {
	d.mu.Lock()
	d.cancel()
	d.mu.Unlock()
	d.wg.Wait()
}

// deliver hands payload (shared, never modified) to r.Target asynchronously, as EventBridge invokes
// a Lambda target: one attempt, a retry after each of the retry delays,
// then the event is dead-lettered.
func (b *Bus) deliver(ctx context.Context, r Rule, ev Event, payload []byte) {
	if !b.deliveries.start() {
		b.log.WarnContext(ctx, "event not delivered: the bus is closed", "eventId", ev.ID, "rule", r.Name)
		return
	}
	go func() {
		defer b.deliveries.done()
		b.runDelivery(r, ev, payload)
	}()
}

func (b *Bus) runDelivery(r Rule, ev Event, payload []byte) {
	ctx := b.deliveries.ctx
	attrs := []any{"eventId", ev.ID, "rule", r.Name, "source", ev.Source, "detailType", ev.DetailType}
	for attempt := 1; ; attempt++ {
		err := callTarget(ctx, r.Target, payload)
		if err == nil {
			b.log.InfoContext(ctx, "event delivered", append(attrs, "attempt", attempt)...)
			return
		}
		if ctx.Err() != nil {
			b.log.WarnContext(ctx, "event delivery stopped: the bus is closed", append(attrs, "attempt", attempt)...)
			return
		}
		b.log.WarnContext(ctx, "event delivery failed", append(attrs, "attempt", attempt, "error", err.Error())...)
		if attempt > len(b.retryDelays) {
			b.deadLetter(r, ev, attempt, err)
			return
		}
		if !sleep(ctx, b.retryDelays[attempt-1]) {
			b.log.WarnContext(ctx, "event retry abandoned: the bus is closed", attrs...)
			return
		}
	}
}

// callTarget runs one attempt; a panicking target is a failed attempt, as a
// crashed function is.
func callTarget(ctx context.Context, t Target, payload []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("target panicked: %v", p)
		}
	}()
	return t.Deliver(ctx, slices.Clone(payload))
}

func (b *Bus) deadLetter(r Rule, ev Event, attempts int, err error) {
	b.mu.Lock()
	b.dead = append(b.dead, DeadLetter{Rule: r.Name, Event: ev, Attempts: attempts, Err: err.Error()})
	b.mu.Unlock()
	b.log.Error("event dead-lettered after its last attempt", "eventId", ev.ID, "rule", r.Name,
		"source", ev.Source, "detailType", ev.DetailType, "attempts", attempts, "error", err.Error())
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
