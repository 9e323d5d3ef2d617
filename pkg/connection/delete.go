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
// A forced deletion of a live connection first revokes, unless keepKeys,
// every key ddconn minted for it (revokeMinted): once the secret is gone,
// nothing could. A failed revocation stops the deletion, so a retry finds
// the keys again.
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
	window := recoveryWindowDays
	var revoked []string
	if force {
		window = 0
		if !keepKeys && sec.DeletedAt == nil {
			if revoked, err = s.revokeMinted(ctx, name, sec); err != nil {
				return Deletion{}, err
			}
		}
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
	s.log.InfoContext(ctx, "connection deleted", "connection", name, "force", force, "deletion_date", date)
	return Deletion{Name: name, DeletionDate: date.UTC(), RecoveryWindowDays: window, RevokedKeyIDs: revoked}, nil
}

// revokeMinted revokes, with the connection's current key, the keys ddconn
// minted for it: every key of the owner named after its rotations, and
// every retired key awaiting revocation. The current key goes last when it
// is one of them: it is the credential that revokes the others. A key the
// user supplied and no rotation retired is theirs, and stays.
func (s *Service) revokeMinted(ctx context.Context, name string, sec secretstore.Secret) ([]string, error) {
	doc, err := s.readDocument(ctx, name, sec)
	if err != nil {
		return nil, err
	}
	cr, err := secretkind.Connection.Credentials(doc, secretkind.Manager{})
	if err != nil {
		return nil, fmt.Errorf("reading connection %s: %w", name, err)
	}
	keys, err := s.dd.ListAppKeys(ctx, cr, datadog.KeyOwner{})
	if err != nil {
		return nil, keysFailure("listing the keys of connection "+name+" to revoke them", err)
	}
	var retired []string
	for _, r := range rotationstate.Retirements(sec.Tags) {
		retired = append(retired, r.KeyID)
	}
	listed := make([]secretkind.Key, len(keys))
	for i, k := range keys {
		listed[i] = secretkind.Key{ID: k.ID, Name: k.Name}
	}
	ids := secretkind.MintedKeys(secretkind.ConnectionName(name), listed, retired, doc.KeyID)
	var revoked []string
	for _, id := range ids {
		if err := s.dd.DeleteAppKey(ctx, cr, datadog.KeyOwner{}, id); err != nil {
			return revoked, keysFailure("revoking key "+id+" of connection "+name, err)
		}
		revoked = append(revoked, id)
	}
	if len(revoked) > 0 {
		s.log.InfoContext(ctx, "keys of a deleted connection revoked", "connection", name, "revoked_key_ids", revoked)
	}
	return revoked, nil
}

// keysFailure maps a failed key listing or revocation of a deletion: the
// connection's key was refused, or Datadog is unavailable.
func keysFailure(op string, err error) error {
	if errors.Is(err, datadog.ErrUnauthorized) {
		return &Error{Kind: ErrRejected, Message: op + ": Datadog refused the connection's key; delete with ?keepKeys=true to leave the keys", Err: err}
	}
	return &Error{Kind: ErrDatadogUnavailable, Message: op + ": Datadog could not be reached or kept failing; try again later", Err: err}
}
