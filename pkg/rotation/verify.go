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
	sub, _ := subjectOf(r.prefix, sec.Name) // check accepted the name
	pend, err := r.document(ctx, sub, sec.ARN, ev.ClientRequestToken, secretstore.Pending)
	if err != nil {
		return report{}, fmt.Errorf("reading the pending document: %w", err)
	}
	cr, err := credentials(pend)
	if err != nil {
		return report{}, err
	}
	// The pending document's manager: for a connection, the new key itself
	// (the next rotation authenticates with it); for a managed key, the
	// connection's current key on the service account's routes.
	mgr, err := r.manager(ctx, sub, pend)
	if err != nil {
		return report{}, err
	}
	if sub.apiKey() {
		return r.testAPIKey(ctx, cr, mgr, pend.ApplicationKeyID)
	}
	if cr.APIKey == "" {
		// A managed key stored without an API key copy is used with the
		// connection's API key.
		cr.APIKey = mgr.cr.APIKey
	}
	rep := report{attrs: []slog.Attr{slog.String("new_key_id", pend.ApplicationKeyID)}}
	attempts, err := r.waitActive(ctx, func() error { return r.dd.ValidateKeys(ctx, cr) })
	rep.attrs = append(rep.attrs, slog.Int("validate_attempts", attempts))
	if err != nil {
		return rep, err
	}
	keys, err := r.dd.ListAppKeys(ctx, mgr.cr, mgr.owner)
	if err != nil {
		return rep, fmt.Errorf("listing application keys with the new key's manager: %w", err)
	}
	// A key of unknown id (RotateImmediately=false tests a copy of the
	// current document) cannot be looked for.
	if pend.ApplicationKeyID != "" && !hasKey(keys, pend.ApplicationKeyID) {
		return rep, fmt.Errorf("%w: %s", ErrKeyNotListed, pend.ApplicationKeyID)
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

func hasKey(keys []datadog.AppKey, id string) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}
