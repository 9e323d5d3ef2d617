package rotation

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// createAPIKey is createSecret for a managed API key: the same order and
// the same crash safety (the key's name records the intent; storing
// AWSPENDING commits), with API keys of the organisation, managed with the
// connection's current keys.
func (r *Rotator) createAPIKey(ctx context.Context, sub subject, sec secretstore.Secret, ev Event, cur connection.Document, mgr manager) (report, error) {
	keys, err := r.dd.ListAPIKeys(ctx, mgr.cr)
	if err != nil {
		return report{}, fmt.Errorf("listing API keys for %s: %w", sec.Name, err)
	}
	name := sub.keyName(ev.ClientRequestToken)
	var discarded []string
	for _, k := range keys {
		if k.Name != name {
			continue
		}
		// An earlier attempt's key whose secret was never stored; its name
		// must be freed too, as API key names are unique in an org.
		if err := r.dd.DeleteAPIKey(ctx, mgr.cr, k.ID); err != nil {
			return report{}, fmt.Errorf("deleting API key %s left by an earlier attempt: %w", k.ID, err)
		}
		discarded = append(discarded, k.ID)
	}
	key, err := r.dd.CreateAPIKey(ctx, mgr.cr, name)
	if err != nil {
		return report{}, fmt.Errorf("creating API key %s: %w", name, err)
	}
	rep := report{outcome: "created", attrs: []slog.Attr{
		slog.String("new_key_id", key.ID),
		slog.String("current_key_id", cur.ApplicationKeyID),
	}}
	if len(discarded) > 0 {
		rep.attrs = append(rep.attrs, slog.Any("discarded_key_ids", discarded))
	}
	next := cur
	next.APIKey, next.ApplicationKeyID = key.Key, key.ID
	if err := r.storePending(ctx, sub, sec.ARN, ev, next); err != nil {
		r.discardUnstored(ctx, sec.ARN, ev.ClientRequestToken, mgr, key.ID)
		return rep, err
	}
	return rep, nil
}

// testAPIKey is testSecret for a managed API key: /api/v1/validate must
// accept the new key (retried while Datadog activates it), and the manager
// must see it among the organisation's keys, as the next rotation and the
// revocation will need to.
func (r *Rotator) testAPIKey(ctx context.Context, cr datadog.Credentials, mgr manager, id string) (report, error) {
	rep := report{attrs: []slog.Attr{slog.String("new_key_id", id)}}
	attempts, err := r.waitActive(ctx, func() error { return r.dd.ValidateAPIKey(ctx, cr) })
	rep.attrs = append(rep.attrs, slog.Int("validate_attempts", attempts))
	if err != nil {
		return rep, err
	}
	keys, err := r.dd.ListAPIKeys(ctx, mgr.cr)
	if err != nil {
		return rep, fmt.Errorf("listing API keys with the connection's keys: %w", err)
	}
	for _, k := range keys {
		if k.ID == id {
			rep.outcome = "tested"
			return rep, nil
		}
	}
	return rep, fmt.Errorf("%w: API key %s", ErrKeyNotListed, id)
}
