package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

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
func (s *Service) Delete(ctx context.Context, name string, force bool) (Deletion, error) {
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
	if force {
		window = 0
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
	return Deletion{Name: name, DeletionDate: date.UTC(), RecoveryWindowDays: window}, nil
}
