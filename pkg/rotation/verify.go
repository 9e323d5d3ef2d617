package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// testSecret proves the pending key works before anything depends on it:
// the kind's validation must pass (retried while Datadog activates the new
// key), and the pending document's manager must list the key, as the next
// rotation and the revocation will need to. For a connection, that manager
// is the new key itself: the next rotation authenticates with it. On
// failure AWSCURRENT is untouched.
func (r *Rotator) testSecret(ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event) (report, error) {
	pend, err := r.document(ctx, n, sec, ev.ClientRequestToken, secretstore.Pending)
	if err != nil {
		return report{}, fmt.Errorf("reading the pending document: %w", err)
	}
	if _, err := docSite(pend); err != nil {
		return report{}, err
	}
	mgr, err := r.keyManager(ctx, n, pend)
	if err != nil {
		return report{}, err
	}
	rep := report{attrs: []slog.Attr{slog.String("new_key_id", pend.KeyID)}}
	attempts, err := r.waitActive(ctx, func() error { return n.Kind.ValidateKey(ctx, r.dd, pend, mgr) })
	rep.attrs = append(rep.attrs, slog.Int("validate_attempts", attempts))
	if err != nil {
		return rep, err
	}
	keys, err := n.Kind.ListKeys(ctx, r.dd, mgr)
	if err != nil {
		return rep, fmt.Errorf("with the new key's manager: %w", err)
	}
	// A key of unknown id (RotateImmediately=false tests a copy of the
	// current document) cannot be looked for.
	if pend.KeyID != "" && !slices.ContainsFunc(keys, func(k secretkind.Key) bool { return k.ID == pend.KeyID }) {
		return rep, fmt.Errorf("%w: %s %s", ErrKeyNotListed, n.Kind.Noun(), pend.KeyID)
	}
	rep.outcome = "tested"
	return rep, nil
}

// waitActive calls validate (validate_keys, or /api/v1/validate for an API
// key) until it passes. A rejection (401/403) or
// an outage means "not yet": Datadog may take a few seconds to accept a new
// key. The waits double from Activation.Initial up to Activation.Max and
// add up to at most Activation.Timeout; the sum of waits, not the wall
// clock, bounds the loop, so an injected clock cannot stall it.
func (r *Rotator) waitActive(ctx context.Context, validate func() error) (attempts int, err error) {
	delay := r.act.Initial
	var waited time.Duration
	for {
		attempts++
		err = validate()
		if err == nil || !notYet(err) {
			return attempts, err
		}
		if waited >= r.act.Timeout {
			return attempts, fmt.Errorf("%w after %d attempts: %w", ErrNotActive, attempts, err)
		}
		d := min(delay, r.act.Timeout-waited)
		if err := sleep(ctx, d); err != nil {
			return attempts, err
		}
		waited += d
		delay = min(2*delay, r.act.Max)
	}
}

func notYet(err error) bool {
	return errors.Is(err, datadog.ErrUnauthorized) || errors.Is(err, datadog.ErrUnavailable)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
