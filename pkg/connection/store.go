package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// describe reads the metadata of connection name, including a connection
// scheduled for deletion (callers decide what that means for them). A
// secret under the prefix that ddconn did not create counts as absent.
//
// A connection the caller of ctx may not see (access.Sees) is not found,
// exactly as a missing one.
func (s *Service) describe(ctx context.Context, name string) (secretstore.Secret, error) {
	if err := checkName(name); err != nil {
		return secretstore.Secret{}, err
	}
	sec, err := s.store.Describe(ctx, s.secretName(name))
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		return secretstore.Secret{}, notFound(name, err)
	case err != nil:
		return secretstore.Secret{}, storeFailure("reading connection "+name, err)
	case !managed(sec):
		return secretstore.Secret{}, notFound(name, nil)
	case !access.Sees(ctx, sec.Tags[secretkind.TagTeam]):
		access.NoteHidden(ctx, sec.Tags[secretkind.TagTeam])
		return secretstore.Secret{}, notFound(name, nil)
	}
	access.NoteTeam(ctx, sec.Tags[secretkind.TagTeam])
	return sec, nil
}

// describeLive is describe for operations on live connections: one that is
// scheduled for deletion is reported as not found.
func (s *Service) describeLive(ctx context.Context, name string) (secretstore.Secret, error) {
	sec, err := s.describe(ctx, name)
	if err == nil && sec.DeletedAt != nil {
		return secretstore.Secret{}, &Error{Kind: ErrNotFound,
			Message: fmt.Sprintf("connection %q is scheduled for deletion on %s", name, sec.DeletedAt.UTC().Format(time.RFC3339))}
	}
	return sec, err
}

// readDocument reads and decodes the AWSCURRENT value of a connection secret.
func (s *Service) readDocument(ctx context.Context, name string, sec secretstore.Secret) (secretkind.Document, error) {
	v, err := s.store.Get(ctx, sec.ARN, "", secretstore.Current)
	switch {
	case errors.Is(err, secretstore.ErrNotFound), errors.Is(err, secretstore.ErrPendingDeletion):
		// Deleted between the describe and this read.
		return secretkind.Document{}, notFound(name, err)
	case err != nil:
		return secretkind.Document{}, storeFailure("reading connection "+name, err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		return secretkind.Document{}, fmt.Errorf("reading connection %s: %w", name, err)
	}
	return doc, nil
}

// writeTags sets tags and removes the identity tags it does not contain.
func (s *Service) writeTags(ctx context.Context, name, arn string, tags map[string]string) error {
	if err := s.store.Tag(ctx, arn, tags); err != nil {
		return storeFailure("tagging connection "+name, err)
	}
	if stale := staleTags(tags); len(stale) > 0 {
		if err := s.store.Untag(ctx, arn, stale); err != nil {
			return storeFailure("untagging connection "+name, err)
		}
	}
	return nil
}

// storeFailure reports Secrets Manager outages as ErrStoreUnavailable; any
// other failure is unexpected and stays a plain (internal) error.
func storeFailure(op string, err error) error {
	if errors.Is(err, secretstore.ErrThrottled) || errors.Is(err, secretstore.ErrUnavailable) {
		return &Error{Kind: ErrStoreUnavailable, Message: "Secrets Manager is throttling or unavailable; try again later", Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func notFound(name string, cause error) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("connection %q not found", name), Err: cause}
}

func nameTaken(name string, cause error) error {
	return &Error{Kind: ErrExists, Message: fmt.Sprintf("a connection named %q already exists", name), Err: cause}
}

func pendingDeletion(name string, cause error) error {
	return &Error{Kind: ErrPendingDeletion, Err: cause, Message: fmt.Sprintf(
		"a connection named %q is scheduled for deletion, so the name is not free yet. "+
			"Choose another name, or delete the old connection for good with DELETE /connections/%s?force=true and create it again",
		name, name)}
}

func rotationInProgress(name string, cause error) error {
	return &Error{Kind: ErrRotationInProgress, Err: cause, Message: fmt.Sprintf(
		"connection %q is being rotated; try again when the rotation has finished", name)}
}
