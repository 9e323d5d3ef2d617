package smemu

import (
	"sync"
	"time"
)

// Clock is wall time plus an offset that Advance moves forward. The emulator
// reads every date it stores (CreatedDate, DeletionDate, NextRotationDate…)
// from its Clock, so tests and `make dev` can fast-forward time without
// waiting. It is safe for concurrent use.
type Clock struct {
	base func() time.Time

	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a Clock that reads base (time.Now when nil) and starts
// with no offset.
func NewClock(base func() time.Time) *Clock {
	if base == nil {
		base = time.Now
	}
	return &Clock{base: base}
}

// Now returns the base time plus the accumulated offset, in UTC.
func (c *Clock) Now() time.Time {
	return c.base().Add(c.ahead()).UTC()
}

// ahead returns how far Advance has moved the clock ahead of its base.
func (c *Clock) ahead() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Advance moves the clock forward by d. Time never runs backwards, so a
// negative or zero d is ignored.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
