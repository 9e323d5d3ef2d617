package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// testSecret proves the pending keys work before anything depends on them:
// validate_keys must pass (retried while Datadog activates the new key), and
// the new key must be able to do the next rotation, which starts by listing
// its owner's keys. On failure AWSCURRENT is untouched.
func (r *Rotator) testSecret(ctx context.Context, sec secretstore.Secret, ev Event) (report, error) {
	pend, err := r.document(ctx, sec.ARN, ev.ClientRequestToken, secretstore.Pending)
	if err != nil {
		return report{}, fmt.Errorf("reading the pending document: %w", err)
	}
	cr, err := credentials(pend)
	if err != nil {
		return report{}, err
	}
	rep := report{attrs: []slog.Attr{slog.String("new_key_id", pend.ApplicationKeyID)}}
	attempts, err := r.waitActive(ctx, cr)
	rep.attrs = append(rep.attrs, slog.Int("validate_attempts", attempts))
	if err != nil {
		return rep, err
	}
	keys, err := r.dd.ListAppKeys(ctx, cr, datadog.KeyOwner{})
	if err != nil {
		return rep, fmt.Errorf("listing application keys with the new key: %w", err)
	}
	// A key of unknown id (RotateImmediately=false tests a copy of the
	// current document) cannot be looked for.
	if pend.ApplicationKeyID != "" && !hasKey(keys, pend.ApplicationKeyID) {
		return rep, fmt.Errorf("%w: %s", ErrKeyNotListed, pend.ApplicationKeyID)
	}
	rep.outcome = "tested"
	return rep, nil
}

// waitActive calls validate_keys until it passes. A rejection (401/403) or
// an outage means "not yet": Datadog may take a few seconds to accept a new
// key. The waits double from Activation.Initial up to Activation.Max and
// add up to at most Activation.Timeout; the sum of waits, not the wall
// clock, bounds the loop, so an injected clock cannot stall it.
func (r *Rotator) waitActive(ctx context.Context, cr datadog.Credentials) (attempts int, err error) {
	delay := r.act.Initial
	var waited time.Duration
	for {
		attempts++
		err = r.dd.ValidateKeys(ctx, cr)
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

func hasKey(keys []datadog.AppKey, id string) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}
