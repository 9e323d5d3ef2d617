package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Deletion is the outcome of Delete.
type Deletion struct {
	Name string `json:"name"`
	// DeletionDate is when the secret is (or was) deleted for good.
	DeletionDate time.Time `json:"deletionDate"`
	// RecoveryWindowDays is 0 for a forced deletion.
	RecoveryWindowDays int `json:"recoveryWindowDays"`
	// RevokedKeyIDs are the keys ddconn minted for the connection that a
	// forced deletion revoked.
	RevokedKeyIDs []string `json:"revokedKeyIds,omitempty"`
	// ReleasedKeyIDs are those a forced deletion with keepKeys released:
	// renamed out of ddconn's names, and left working.
	ReleasedKeyIDs []string `json:"releasedKeyIds,omitempty"`
}

// checkUnused refuses to delete a live connection that has managed keys:
// without the connection's key they could be neither revoked nor rotated,
// and would stay in Datadog.
//
// Mints run concurrently with it, so it first marks the connection as
// being deleted (secretkind.TagDeleting), then counts. A mint records its
// intent (its own secret) first, then reads the connection. Each side
// writes before it reads the other's write, so one of them sees the other:
// either the count includes the mint and the delete is refused, or the
// mint sees the mark and stops. A refused delete removes its mark.
func (s *Service) checkUnused(ctx context.Context, name string, sec secretstore.Secret) error {
	if s.dependents == nil || sec.DeletedAt != nil {
		return nil
	}
	mark := map[string]string{secretkind.TagDeleting: s.now().UTC().Format(time.RFC3339)}
	if err := s.store.Tag(ctx, sec.ARN, mark); err != nil {
		return storeFailure("marking connection "+name+" as being deleted", err)
	}
	n, err := s.dependents.CountManagedKeys(ctx, name)
	if err == nil && n == 0 {
		return nil
	}
	if uerr := s.store.Untag(ctx, sec.ARN, []string{secretkind.TagDeleting}); uerr != nil {
		s.log.WarnContext(ctx, "removing the deletion mark failed; mints wait until it expires", "connection", name, "error", uerr)
	}
	if err != nil {
		return storeFailure("listing the managed keys of connection "+name, err)
	}
	if n > 0 {
		return &Error{Kind: ErrInUse, Message: fmt.Sprintf(
			"connection %q still has %d managed key(s), which need its key to be revoked and rotated; delete them first "+
				"(DELETE /connections/%s/application-keys/{key} and …/api-keys/{key}; ?keepKeys=true leaves the keys in Datadog)",
			name, n, name)}
	}
	return nil
}

// Delete schedules the connection's deletion after recoveryWindowDays (7), or
// deletes it at once when force is set. Forcing also works on a connection
// already scheduled for deletion, which frees its name.
//
// A forced deletion first settles every key ddconn minted for the
// connection (settleMinted): it revokes them, or with keepKeys releases
// them; once the secret is gone, nothing could. A connection already
// scheduled for deletion is restored for that, since a secret pending
// deletion cannot be read. A failed settlement stops the deletion (a
// restored secret is scheduled for deletion again), so a retry finds the
// keys again. A scheduled deletion records keepKeys on the secret
// (secretkind.TagKeepKeys) for the sweeper, which settles the keys as the
// recovery window ends.
func (s *Service) Delete(ctx context.Context, name string, force, keepKeys bool) (Deletion, error) {
	sec, err := s.describe(ctx, name)
	if err != nil {
		return Deletion{}, err
	}
	if sec.DeletedAt != nil && !force {
		return Deletion{}, &Error{Kind: ErrPendingDeletion, Message: fmt.Sprintf(
			"connection %q is already scheduled for deletion on %s; add ?force=true to delete it now",
			name, sec.DeletedAt.UTC().Format(time.RFC3339))}
	}
	if err := s.checkUnused(ctx, name, sec); err != nil {
		return Deletion{}, err
	}
	out := Deletion{Name: name, RecoveryWindowDays: recoveryWindowDays}
	if force {
		out.RecoveryWindowDays = 0
		settled, err := s.settleForced(ctx, name, sec, keepKeys)
		if err != nil {
			return Deletion{}, err
		}
		if keepKeys {
			out.ReleasedKeyIDs = settled
		} else {
			out.RevokedKeyIDs = settled
		}
	} else if err := s.recordKeepKeys(ctx, name, sec, keepKeys); err != nil {
		return Deletion{}, err
	}
	date, err := s.store.Delete(ctx, sec.ARN, recoveryWindowDays, force)
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		return Deletion{}, notFound(name, err)
	case errors.Is(err, secretstore.ErrPendingDeletion):
		return Deletion{}, pendingDeletion(name, err)
	case err != nil:
		return Deletion{}, storeFailure("deleting connection "+name, err)
	}
	out.DeletionDate = date.UTC()
	s.log.InfoContext(ctx, "connection deleted", "connection", name, "force", force, "keep_keys", keepKeys, "deletion_date", date)
	return out, nil
}

// settleForced settles the minted keys of a connection about to be deleted
// for good, restoring it first when it is pending deletion.
func (s *Service) settleForced(ctx context.Context, name string, sec secretstore.Secret, release bool) ([]string, error) {
	if sec.DeletedAt == nil {
		return s.settleMinted(ctx, name, sec, release)
	}
	if err := s.store.Restore(ctx, sec.ARN); err != nil {
		return nil, storeFailure("restoring connection "+name+" to settle its keys", err)
	}
	settled, err := s.settleMinted(ctx, name, sec, release)
	if err != nil {
		if _, derr := s.store.Delete(ctx, sec.ARN, recoveryWindowDays, false); derr != nil {
			s.log.ErrorContext(ctx, "scheduling the deletion again failed; the connection is live", "connection", name, "error", derr)
		}
		return settled, err
	}
	return settled, nil
}

// recordKeepKeys sets secretkind.TagKeepKeys on a connection to be deleted
// with keepKeys, and removes it from one deleted without.
func (s *Service) recordKeepKeys(ctx context.Context, name string, sec secretstore.Secret, keepKeys bool) error {
	_, recorded := sec.Tags[secretkind.TagKeepKeys]
	var err error
	switch {
	case keepKeys && !recorded:
		err = s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagKeepKeys: "true"})
	case !keepKeys && recorded:
		err = s.store.Untag(ctx, sec.ARN, []string{secretkind.TagKeepKeys})
	}
	if err != nil {
		return storeFailure("recording keepKeys on connection "+name, err)
	}
	return nil
}

// settleMinted revokes, or releases (secretkind.Settle), with the
// connection's current key the keys ddconn minted for it: every key of the
// owner named after its rotations, and every retired key awaiting
// revocation. The current key goes last when it is one of them: it is the
// credential that settles the others. A key the user supplied and no
// rotation retired is theirs, and stays.
func (s *Service) settleMinted(ctx context.Context, name string, sec secretstore.Secret, release bool) ([]string, error) {
	doc, err := s.readDocument(ctx, name, sec)
	if err != nil {
		return nil, err
	}
	m := secretkind.Manager{}
	if m.Credentials, err = secretkind.Connection.Credentials(doc, m); err != nil {
		return nil, fmt.Errorf("reading connection %s: %w", name, err)
	}
	keys, err := secretkind.Connection.ListKeys(ctx, s.dd, m)
	if release && errors.Is(err, datadog.ErrUnauthorized) {
		// The key may not list its owner's keys, so no sweep of this
		// connection could take them for ddconn's: they stay as they are.
		s.log.WarnContext(ctx, "the connection's key may not list its owner's keys; its keys are left unreleased", "connection", name)
		return nil, nil
	}
	if err != nil {
		return nil, keysFailure("listing the keys of connection "+name+" to settle them", err)
	}
	minted := secretkind.MintedKeys(secretkind.KeyScope(s.prefix, sec.ARN), secretkind.ConnectionName(name), keys,
		rotationstate.RetiredKeyIDs(sec.Tags), doc.KeyID)
	settled, err := secretkind.Settle(ctx, s.dd, secretkind.Connection, m, minted, release)
	if len(settled) > 0 {
		s.log.InfoContext(ctx, "keys of a deleted connection settled", "connection", name, "released", release, "key_ids", settled)
	}
	if err != nil {
		return settled, keysFailure("settling the keys of connection "+name, err)
	}
	return settled, nil
}

// keysFailure maps a failed key listing or settlement of a deletion: the
// connection's key was refused, or Datadog is unavailable.
func keysFailure(op string, err error) error {
	if errors.Is(err, datadog.ErrUnauthorized) {
		return &Error{Kind: ErrRejected, Message: op + ": Datadog refused the connection's key; delete with ?keepKeys=true to leave the keys", Err: err}
	}
	return &Error{Kind: ErrDatadogUnavailable, Message: op + ": Datadog could not be reached or kept failing; try again later", Err: err}
}
