package rotation

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// createSecret makes the new key and stores it as AWSPENDING.
//
// Order, and why it is crash safe: the key's name is derived from the token
// (secretkind.Name.DatadogKeyName), so Datadog itself records the intent
// before anything else exists. A retried attempt finds a key under that
// name whose secret was never stored (Datadog shows a secret only once, so
// it cannot be recovered), deletes it and starts again. Storing the document
// is the commit; after it, a retry sees the stored value and stops.
func (r *Rotator) createSecret(ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event) (report, error) {
	cur, err := r.document(ctx, n, sec, "", secretstore.Current)
	if err != nil {
		return report{}, fmt.Errorf("reading the current document: %w", err)
	}
	stored, err := r.pendingStored(ctx, sec.ARN, ev.ClientRequestToken)
	if err != nil || stored {
		return report{outcome: "already-created"}, err
	}
	if k := len(rotationstate.Retirements(sec.Tags)); k >= rotationstate.MaxPendingRetirements {
		return report{}, fmt.Errorf("%w (%d)", ErrTooManyRetirements, k)
	}
	mgr, err := r.keyManager(ctx, n, cur)
	if err != nil {
		return report{}, err
	}
	keys, err := n.Kind.ListKeys(ctx, r.dd, mgr)
	if err != nil {
		return report{}, fmt.Errorf("%s: %w", sec.Name, err)
	}
	scopes, err := scopesToCopy(n.Kind, cur, keys)
	if err != nil {
		return report{}, err
	}
	name := n.DatadogKeyName(secretkind.KeyScope(r.prefix, sec.ARN), ev.ClientRequestToken)
	if err := secretkind.CheckHeadroom(n.Kind, keys, name); err != nil {
		return report{}, err
	}
	discarded, err := r.deleteNamed(ctx, n.Kind, mgr, keys, name)
	if err != nil {
		return report{}, err
	}
	key, err := n.Kind.CreateKey(ctx, r.dd, mgr, name, scopes)
	if err != nil {
		return report{}, err
	}
	rep := report{outcome: "created", attrs: []slog.Attr{
		slog.String("new_key_id", key.ID),
		slog.String("current_key_id", cur.KeyID),
	}}
	if len(discarded) > 0 {
		rep.attrs = append(rep.attrs, slog.Any("discarded_key_ids", discarded))
	}
	if key.OwnerID != "" && cur.OwnerID != "" && key.OwnerID != cur.OwnerID {
		r.discard(ctx, n.Kind, mgr, key.ID)
		return rep, fmt.Errorf("%w: new key %s belongs to %s, not %s", ErrMismatch, key.ID, key.OwnerID, cur.OwnerID)
	}
	next := cur
	next.Key, next.KeyID, next.Scopes = key.Key, key.ID, scopes
	if n.Managed() && cur.APIKey != "" {
		// includeApiKey: the copy follows the connection's API key.
		next.APIKey = mgr.Credentials.APIKey
	}
	if err := r.storePending(ctx, n, sec, ev, next); err != nil {
		r.discardUnstored(ctx, n.Kind, sec.ARN, ev.ClientRequestToken, mgr, key.ID)
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
// it records none, they are unknown and the rotation stops. Keys of an
// unscoped kind (API keys) have none.
func scopesToCopy(k secretkind.Kind, cur secretkind.Document, keys []secretkind.Key) ([]string, error) {
	switch {
	case !k.Scoped():
		return nil, nil
	case cur.KeyID == "" && cur.Scopes == nil:
		return nil, ErrScopesUnknown
	case cur.KeyID == "":
		return cur.Scopes, nil
	}
	for _, key := range keys {
		if key.ID == cur.KeyID {
			return key.Scopes, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrCurrentKeyMissing, cur.KeyID)
}

// deleteNamed deletes the keys named name: those of earlier attempts of this
// rotation whose secret was never stored. For API keys this also frees the
// name, which is unique in an organisation.
func (r *Rotator) deleteNamed(ctx context.Context, k secretkind.Kind, mgr secretkind.Manager, keys []secretkind.Key, name string) ([]string, error) {
	var deleted []string
	for _, key := range keys {
		if key.Name != name {
			continue
		}
		if err := k.RevokeKey(ctx, r.dd, mgr, key.ID); err != nil {
			return deleted, fmt.Errorf("a key left by an earlier attempt: %w", err)
		}
		deleted = append(deleted, key.ID)
	}
	return deleted, nil
}

// storePending stores d as the token's AWSPENDING version; a plain API
// key's key id is tagged first (secretkind.MarshalVersion).
func (r *Rotator) storePending(ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event, d secretkind.Document) error {
	value, tags, err := secretkind.MarshalVersion(n.Kind, d, ev.ClientRequestToken, sec.Tags)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		if err := r.secrets.Tag(ctx, sec.ARN, tags); err != nil {
			return fmt.Errorf("recording the pending key's id: %w", err)
		}
	}
	secretID := sec.ARN
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
func (r *Rotator) discardUnstored(ctx context.Context, k secretkind.Kind, secretID, token string, mgr secretkind.Manager, keyID string) {
	_, err := r.secrets.Get(ctx, secretID, token, "")
	if !isNotFound(err) {
		r.log.WarnContext(ctx, "storing the new key failed; left it to the retry or the sweeper",
			slog.String("secret_arn", secretID), slog.String("new_key_id", keyID))
		return
	}
	r.discard(ctx, k, mgr, keyID)
}

// discard deletes a key nobody will use. A failure is logged: the key's
// name lets the retry or the sweeper find it.
func (r *Rotator) discard(ctx context.Context, k secretkind.Kind, mgr secretkind.Manager, keyID string) {
	if err := k.RevokeKey(ctx, r.dd, mgr, keyID); err != nil {
		r.log.WarnContext(ctx, "deleting an unused key failed; the sweeper will",
			slog.String("key_id", keyID), slog.Any("error", err))
	}
}
