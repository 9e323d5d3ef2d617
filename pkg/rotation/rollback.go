package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// RolledBackEvent follows a rollback: AWSCURRENT is back on the previous
// version, so consumers should read the secret again, as after a rotation.
const RolledBackEvent = "Rotation Rolled Back"

// Outcomes of Rollback a caller branches on; each message says what to
// do instead.
var (
	// ErrNoPrevious: no version is staged AWSPREVIOUS.
	ErrNoPrevious = errors.New("there is no previous version to roll back to")
	// ErrPreviousRevoked: the previous version's key no longer
	// authenticates at Datadog (revoked under the revocation policy).
	ErrPreviousRevoked = errors.New("the previous key has been revoked, so the rotation cannot be rolled back; rotate now to replace the current key instead")
	// ErrRollbackDuringRotation: a rotation is in progress, or completed
	// while the rollback ran; nothing was rolled back.
	ErrRollbackDuringRotation = errors.New("a rotation is in progress or has just completed; nothing was rolled back - read the secret's state and try again")
)

// RolledBack is what Rollback did, and the detail of a RolledBackEvent.
type RolledBack struct {
	Subject
	// VersionID is the version now staged AWSCURRENT again, KeyID its key.
	VersionID string `json:"versionId"`
	KeyID     string `json:"keyId"`
	// RolledBackVersionID and RolledBackKeyID are what was current; the key
	// is retired under the revocation policy, to be revoked at
	// RolledBackKeyRevokeAt at the latest (null: when the next rotation
	// replaces the restored key).
	RolledBackVersionID   string     `json:"rolledBackVersionId"`
	RolledBackKeyID       string     `json:"rolledBackKeyId"`
	RevokePrevious        string     `json:"revokePrevious"`
	RolledBackKeyRevokeAt *time.Time `json:"rolledBackKeyRevokeAt"`
	RolledBackAt          time.Time  `json:"rolledBackAt"`
}

// Rollback makes the AWSPREVIOUS version of secret n AWSCURRENT again,
// with staging labels only: no key is created. The key it demotes is
// retired under the secret's revocation policy, as a rotation retires the
// key it replaces, and a RolledBackEvent is published.
//
// It refuses (ErrPreviousRevoked) when the previous key no longer
// authenticates, and (ErrRollbackDuringRotation) while a rotation is in
// progress. Order, and why it is safe:
//  1. check that no rotation is in progress and that the previous key
//     authenticates at Datadog;
//  2. record the retirement of the current key (a tag): harmless while
//     the key is AWSCURRENT, which is never revoked;
//  3. move AWSCURRENT from the current version to the previous one: the
//     commit. Secrets Manager refuses the move unless AWSCURRENT is still
//     on the version read in 1, so a rotation promoted meanwhile makes the
//     rollback fail (ErrRollbackDuringRotation) instead of undoing that
//     rotation; a rotation that promotes afterwards reads the restored
//     version as its current one;
//  4. remove the restored key's retirement record, then Reconcile
//     (key-id tags, and a revocation the policy makes due at once). A
//     record left by a failure here is harmless: a key is never revoked
//     while AWSCURRENT holds it, and the next rotation rewrites it.
//
// The record of step 2 stays if the move fails: removing it could remove
// the record a concurrent rotation wrote for the same key.
func (r *Rotator) Rollback(ctx context.Context, n secretkind.Name) (RolledBack, error) {
	sec, err := r.secrets.Describe(ctx, n.SecretName(r.prefix))
	if err != nil {
		return RolledBack{}, err
	}
	if rotationstate.StateOf(sec).InProgress {
		return RolledBack{}, ErrRollbackDuringRotation
	}
	curVersion, ok := sec.CurrentVersion()
	if !ok {
		return RolledBack{}, fmt.Errorf("%w: no AWSCURRENT version", ErrNotConnection)
	}
	prevVersion, ok := sec.VersionWith(secretstore.Previous)
	if !ok || prevVersion == curVersion {
		return RolledBack{}, ErrNoPrevious
	}
	cur, err := r.document(ctx, n, sec, curVersion, "")
	if err != nil {
		return RolledBack{}, fmt.Errorf("reading the current document: %w", err)
	}
	prev, err := r.document(ctx, n, sec, prevVersion, "")
	if err != nil {
		return RolledBack{}, fmt.Errorf("reading the previous document: %w", err)
	}
	if err := r.checkAlive(ctx, n, prev); err != nil {
		return RolledBack{}, err
	}
	retired, err := r.recordRetirement(ctx, n, sec, cur)
	if err != nil {
		return RolledBack{}, err
	}
	if err := r.secrets.MoveStage(ctx, sec.ARN, secretstore.Current, prevVersion, curVersion); err != nil {
		// The move may have happened (a lost answer) or been refused
		// because another writer moved AWSCURRENT first: look.
		now, derr := r.currentVersion(ctx, sec.ARN)
		switch {
		case derr != nil || now == curVersion:
			return RolledBack{}, fmt.Errorf("restoring the previous version: %w", err)
		case now != prevVersion:
			return RolledBack{}, fmt.Errorf("%w (%w)", ErrRollbackDuringRotation, err)
		}
	}
	out := RolledBack{Subject: r.subject(n, sec.ARN), VersionID: prevVersion, KeyID: prev.KeyID,
		RolledBackVersionID: curVersion, RolledBackKeyID: cur.KeyID, RevokePrevious: rotationstate.PolicyOf(sec.Tags).String(), RolledBackAt: r.now().UTC(),
		RolledBackKeyRevokeAt: retired.DueAt()}
	r.publish(ctx, RolledBackEvent, sec.ARN, out)
	r.log.InfoContext(ctx, "rotation rolled back", slog.String("secret_arn", sec.ARN),
		slog.String("version_id", prevVersion), slog.String("key_id", prev.KeyID), slog.String("rolled_back_key_id", cur.KeyID))
	if prev.KeyID != cur.KeyID {
		restored := rotationstate.Retirement{KeyID: prev.KeyID}
		if _, held := sec.Tags[restored.TagKey()]; held {
			if err := r.secrets.Untag(ctx, sec.ARN, []string{restored.TagKey()}); err != nil {
				r.warn(ctx, sec.ARN, "removing the restored key's retirement record failed; it is not revoked while current", err)
			}
		}
	}
	if snap, err := r.Snapshot(ctx, sec.ARN); err != nil {
		r.warn(ctx, sec.ARN, "reading the rolled-back secret failed; the sweeper will reconcile it", err)
	} else if _, err := r.Reconcile(ctx, snap); err != nil {
		r.warn(ctx, sec.ARN, "reconciling the rolled-back secret failed; the sweeper will retry", err)
	}
	return out, nil
}

// checkAlive fails with ErrPreviousRevoked when the document's key no
// longer authenticates at Datadog; any other failure is returned as is
// (Datadog unavailable: try again later).
func (r *Rotator) checkAlive(ctx context.Context, n secretkind.Name, d secretkind.Document) error {
	mgr, err := r.keyManager(ctx, n, d)
	if err != nil {
		return err
	}
	err = n.Kind.ValidateKey(ctx, r.dd, d, mgr)
	if errors.Is(err, datadog.ErrUnauthorized) {
		return fmt.Errorf("%w (%s %s)", ErrPreviousRevoked, n.Kind.Noun(), d.KeyID)
	}
	if err != nil {
		return fmt.Errorf("checking the previous key at Datadog: %w", err)
	}
	return nil
}

// currentVersion reads which version is AWSCURRENT now.
func (r *Rotator) currentVersion(ctx context.Context, secretID string) (string, error) {
	sec, err := r.secrets.Describe(ctx, secretID)
	if err != nil {
		return "", err
	}
	v, _ := sec.CurrentVersion()
	return v, nil
}
