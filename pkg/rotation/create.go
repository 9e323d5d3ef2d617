package rotation

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// createSecret makes the new application key and stores it as AWSPENDING.
//
// Order, and why it is crash safe: the key's name is derived from the token
// (KeyName), so Datadog itself records the intent before anything else
// exists. A retried attempt finds a key under that name whose secret was
// never stored (Datadog shows a secret only once, so it cannot be
// recovered), deletes it and starts again. Storing the document is the
// commit; after it, a retry sees the stored value and stops.
func (r *Rotator) createSecret(ctx context.Context, sec secretstore.Secret, ev Event) (report, error) {
	sub, _ := subjectOf(r.prefix, sec.Name) // check accepted the name
	cur, err := r.document(ctx, sub, sec.ARN, "", secretstore.Current)
	if err != nil {
		return report{}, fmt.Errorf("reading the current document: %w", err)
	}
	stored, err := r.pendingStored(ctx, sec.ARN, ev.ClientRequestToken)
	if err != nil || stored {
		return report{outcome: "already-created"}, err
	}
	if n := len(Retirements(sec.Tags)); n >= MaxPendingRetirements {
		return report{}, fmt.Errorf("%w (%d)", ErrTooManyRetirements, n)
	}
	mgr, err := r.manager(ctx, sub, cur)
	if err != nil {
		return report{}, err
	}
	if sub.apiKey() {
		return r.createAPIKey(ctx, sub, sec, ev, cur, mgr)
	}
	keys, err := r.dd.ListAppKeys(ctx, mgr.cr, mgr.owner)
	if err != nil {
		return report{}, fmt.Errorf("listing application keys of %s: %w", sec.Name, err)
	}
	scopes, err := scopesToCopy(cur, keys)
	if err != nil {
		return report{}, err
	}
	name := sub.keyName(ev.ClientRequestToken)
	discarded, err := r.deleteNamed(ctx, mgr, keys, name)
	if err != nil {
		return report{}, err
	}
	key, err := r.dd.CreateAppKey(ctx, mgr.cr, mgr.owner, name, scopes)
	if err != nil {
		return report{}, fmt.Errorf("creating application key %s: %w", name, err)
	}
	rep := report{outcome: "created", attrs: []slog.Attr{
		slog.String("new_key_id", key.ID),
		slog.String("current_key_id", cur.ApplicationKeyID),
	}}
	if len(discarded) > 0 {
		rep.attrs = append(rep.attrs, slog.Any("discarded_key_ids", discarded))
	}
	if key.OwnerID != "" && cur.OwnerID != "" && key.OwnerID != cur.OwnerID {
		r.discard(ctx, mgr, key.ID)
		return rep, fmt.Errorf("%w: new key %s belongs to %s, not %s", ErrMismatch, key.ID, key.OwnerID, cur.OwnerID)
	}
	next := successor(cur, key, scopes)
	if sub.managed != nil && cur.APIKey != "" {
		// includeApiKey: the copy follows the connection's API key.
		next.APIKey = mgr.cr.APIKey
	}
	if err := r.storePending(ctx, sub, sec.ARN, ev, next); err != nil {
		r.discardUnstored(ctx, sec.ARN, ev.ClientRequestToken, mgr, key.ID)
		return rep, err
	}
	return rep, nil
}

// pendingStored reports whether the token's AWSPENDING version has a value.
// RotateSecret's placeholder has none, and reading it answers not found.
func (r *Rotator) pendingStored(ctx context.Context, secretID, token string) (bool, error) {
	_, err := r.secrets.Get(ctx, secretID, token, secretstore.Pending)
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("reading the pending version: %w", err)
}

// scopesToCopy returns the scopes the new key must have: exactly the
// current key's, read from Datadog rather than from our own copy. A key
// whose id was never identified has the scopes its document records; when
// it records none, they are unknown and the rotation stops.
func scopesToCopy(cur connection.Document, keys []datadog.AppKey) ([]string, error) {
	if cur.ApplicationKeyID == "" {
		if cur.Scopes == nil {
			return nil, ErrScopesUnknown
		}
		return cur.Scopes, nil
	}
	for _, k := range keys {
		if k.ID == cur.ApplicationKeyID {
			return k.Scopes, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrCurrentKeyMissing, cur.ApplicationKeyID)
}

// deleteNamed deletes the keys named name: those of earlier attempts of this
// rotation whose secret was never stored.
func (r *Rotator) deleteNamed(ctx context.Context, mgr manager, keys []datadog.AppKey, name string) ([]string, error) {
	var deleted []string
	for _, k := range keys {
		if k.Name != name {
			continue
		}
		if err := r.dd.DeleteAppKey(ctx, mgr.cr, mgr.owner, k.ID); err != nil {
			return deleted, fmt.Errorf("deleting application key %s left by an earlier attempt: %w", k.ID, err)
		}
		deleted = append(deleted, k.ID)
	}
	return deleted, nil
}

// successor is the current document with the new key: same site, API key,
// owner and scopes.
func successor(cur connection.Document, key datadog.AppKey, scopes []string) connection.Document {
	next := cur
	next.ApplicationKey = key.Key
	next.ApplicationKeyID = key.ID
	next.Scopes = scopes
	return next
}

func (r *Rotator) storePending(ctx context.Context, s subject, secretID string, ev Event, d connection.Document) error {
	value, err := s.marshal(d)
	if err != nil {
		return err
	}
	_, err = r.secrets.Put(ctx, secretID, ev.ClientRequestToken, value, []string{secretstore.Pending}, ev.RotationToken)
	if err != nil {
		return fmt.Errorf("storing the pending version: %w", err)
	}
	return nil
}

// discardUnstored deletes the new key after storing it failed — but only
// when the version is known to hold no value. A failed call may still have
// written it (a timeout after Secrets Manager accepted the request); deleting
// the key then would leave AWSPENDING holding a dead key and the rotation
// stuck. When in doubt the key stays: its name lets the retried createSecret
// or the sweeper delete it if it was not stored.
func (r *Rotator) discardUnstored(ctx context.Context, secretID, token string, mgr manager, keyID string) {
	_, err := r.secrets.Get(ctx, secretID, token, "")
	if !isNotFound(err) {
		r.log.WarnContext(ctx, "storing the new key failed; left it to the retry or the sweeper",
			slog.String("secret_arn", secretID), slog.String("new_key_id", keyID))
		return
	}
	r.discard(ctx, mgr, keyID)
}

// discard deletes a key nobody will use. A failure is logged: the key's
// name lets the retry or the sweeper find it.
func (r *Rotator) discard(ctx context.Context, mgr manager, keyID string) {
	if err := mgr.revoke(ctx, r.dd, keyID); err != nil {
		r.log.WarnContext(ctx, "deleting an unused application key failed; the sweeper will",
			slog.String("key_id", keyID), slog.Any("error", err))
	}
}
