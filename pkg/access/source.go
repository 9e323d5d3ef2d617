package access

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Source gives the current policy.
type Source interface {
	Policy(ctx context.Context) (*Policy, error)
}

// Static is a Source of a fixed policy (nil: no policy).
type Static struct{ P *Policy }

// Policy returns s.P.
func (s Static) Policy(context.Context) (*Policy, error) { return s.P, nil }

// DefaultRefresh is how long a Cached source keeps a policy: a change
// takes effect within it.
const DefaultRefresh = 30 * time.Second

// Cached reads the policy document with Read at most once per Refresh,
// so that a change takes effect within Refresh without a call per request.
// A failed read fails the request (no policy is never assumed once one is
// configured), and is retried by the next.
type Cached struct {
	// Read returns the policy document.
	Read func(ctx context.Context) ([]byte, error)
	// Refresh is how long a policy is kept; 0 means DefaultRefresh.
	Refresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	policy  *Policy
	fetched time.Time
}

// Policy returns the policy, reading it again when it is older than
// Refresh.
func (c *Cached) Policy(ctx context.Context) (*Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	refresh := c.Refresh
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	if c.policy != nil && now().Sub(c.fetched) < refresh {
		return c.policy, nil
	}
	doc, err := c.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the access policy: %w", err)
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	c.policy, c.fetched = p, now()
	return p, nil
}
