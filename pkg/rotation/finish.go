package rotation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// finishSecret promotes the new key and retires the one it replaces.
//
// Order, and why it is crash safe:
//  1. record the retirement of the current key and its owner (a tag): the
//     write-ahead log of the revocation. The key is still AWSCURRENT, and a
//     key is never revoked while AWSCURRENT refers to it, so an early record
//     is harmless. The owner tells Reconcile which routes can revoke the key
//     once the connection holds a key of another owner;
//  2. move AWSCURRENT to the token: the commit. Consumers now read the new
//     key, which testSecret proved works;
//  3. remove AWSPENDING, update the key-id tags, clear the last error and
//     carry out the retirements that are due (Reconcile).
//
// Nothing after the commit fails the step: a failed revocation is a warning
// on the secret, and the record lets the sweeper finish the job.
func (r *Rotator) finishSecret(ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event) (report, error) {
	currentVersion, ok := sec.CurrentVersion()
	if !ok {
		return report{}, fmt.Errorf("%w: no AWSCURRENT version", ErrNotConnection)
	}
	cur, err := r.document(ctx, n, sec, currentVersion, "")
	if err != nil {
		return report{}, fmt.Errorf("reading the current document: %w", err)
	}
	pend, err := r.document(ctx, n, sec, ev.ClientRequestToken, secretstore.Pending)
	if err != nil {
		return report{}, fmt.Errorf("reading the pending document: %w", err)
	}
	retired, err := r.recordRetirement(ctx, n, sec, cur)
	if err != nil {
		return report{}, err
	}
	if err := r.secrets.MoveStage(ctx, sec.ARN, secretstore.Current, ev.ClientRequestToken, currentVersion); err != nil {
		return report{}, fmt.Errorf("promoting the new version: %w", err)
	}
	rep := report{outcome: "promoted", attrs: []slog.Attr{
		slog.String("new_key_id", pend.KeyID),
		slog.String("retired_key_id", cur.KeyID),
	}}
	if err := r.secrets.MoveStage(ctx, sec.ARN, secretstore.Pending, "", ev.ClientRequestToken); err != nil {
		// AWSPENDING on the AWSCURRENT version is a legal end state: it
		// does not block the next rotation.
		r.warn(ctx, sec.ARN, "removing AWSPENDING after the promotion failed", err)
	}
	r.publish(ctx, RotatedEvent, sec.ARN, r.rotated(n, sec, ev.ClientRequestToken, pend.KeyID, cur.KeyID, retired.DueAt()))
	rep.attrs = append(rep.attrs, r.afterPromotion(ctx, n, sec.ARN, sec.Tags, "")...)
	return rep, nil
}

// afterPromotion clears the last error and reconciles the promoted secret.
// It is also what a retried finishSecret does once the rotation is
// committed; that one passes the committed token, and afterPromotion
// publishes the RotatedEvent again from the secret as it reads it, since
// the attempt that promoted may have stopped before publishing. Failures
// are warnings: the rotation has succeeded.
func (r *Rotator) afterPromotion(ctx context.Context, n secretkind.Name, secretID string, tags map[string]string, republish string) []slog.Attr {
	if _, ok := tags[secretkind.TagLastError]; ok {
		if err := r.secrets.Untag(ctx, secretID, []string{secretkind.TagLastError}); err != nil {
			r.warn(ctx, secretID, "clearing the last rotation error failed", err)
		}
	}
	snap, err := r.Snapshot(ctx, secretID)
	if err != nil {
		r.warn(ctx, secretID, "reading the promoted secret failed; the sweeper will revoke retired keys", err)
		return nil
	}
	if republish != "" {
		r.publish(ctx, RotatedEvent, secretID, r.rotatedOf(n, snap, republish))
	}
	res, err := r.Reconcile(ctx, snap)
	if err != nil {
		r.warn(ctx, secretID, "revoking retired keys failed; the sweeper will retry", err)
	}
	if len(res.Revoked) == 0 {
		return nil
	}
	return []slog.Attr{slog.Any("revoked_key_ids", res.Revoked)}
}

func (r *Rotator) warn(ctx context.Context, secretID, msg string, err error) {
	r.log.WarnContext(ctx, msg, slog.String("secret_arn", secretID), slog.Any("error", err))
}

// recordRetirement records on sec the retirement of d's key under the
// secret's revocation policy, with the key's owner: the write-ahead log of
// its revocation, written while the key is still AWSCURRENT.
func (r *Rotator) recordRetirement(ctx context.Context, n secretkind.Name, sec secretstore.Secret, d secretkind.Document) (rotationstate.Retirement, error) {
	retired := rotationstate.PolicyOf(sec.Tags).RetirementFor(d.KeyID, r.now())
	retired.Owner = rotationstate.OwnerOf(d)
	key, value := retired.Tag()
	if err := r.secrets.Tag(ctx, sec.ARN, map[string]string{key: value}); err != nil {
		return retired, fmt.Errorf("recording the retirement of %s %s: %w", n.Kind.Noun(), d.KeyID, err)
	}
	return retired, nil
}

// rotated describes the rotation of secret sec that promoted token,
// replacing the key prevKeyID by keyID; the previous key is revoked at
// revokeAt at the latest (nil: at the next rotation).
func (r *Rotator) rotated(n secretkind.Name, sec secretstore.Secret, token, keyID, prevKeyID string, revokeAt *time.Time) Rotated {
	return Rotated{Subject: r.subject(n, sec.ARN), RequestID: token, VersionID: token, KeyID: keyID, PreviousKeyID: prevKeyID,
		RevokePrevious: rotationstate.PolicyOf(sec.Tags).String(), RotatedAt: r.now().UTC(), PreviousKeyRevokeAt: revokeAt}
}

// rotatedOf describes, from a snapshot taken after the promotion, the
// rotation that promoted token.
func (r *Rotator) rotatedOf(n secretkind.Name, snap Snapshot, token string) Rotated {
	sec := snap.Secret
	var prevKeyID string
	if prev, ok := sec.VersionWith(secretstore.Previous); ok {
		prevKeyID = snap.Docs[prev].KeyID
	}
	var revokeAt *time.Time
	for _, rt := range snap.retirements() {
		if rt.KeyID == prevKeyID && rt.DueAt() != nil {
			revokeAt = rt.DueAt()
		}
	}
	out := r.rotated(n, sec, token, snap.Docs[token].KeyID, prevKeyID, revokeAt)
	if sec.LastRotatedAt != nil {
		out.RotatedAt = sec.LastRotatedAt.UTC()
	}
	return out
}
