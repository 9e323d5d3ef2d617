package connection

import (
	"context"
	"errors"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"maps"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Update changes a connection's description, credentials and/or allowed
// service accounts. New credentials are checked like on create and written
// as a new secret version (the old one stays as AWSPREVIOUS). Names are
// immutable.
func (s *Service) Update(ctx context.Context, name string, in UpdateInput) (Connection, error) {
	if err := checkName(name); err != nil {
		return Connection{}, err
	}
	req, err := in.validate(name)
	if err != nil {
		return Connection{}, err
	}
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	var doc *secretkind.Document
	if req.creds != nil {
		allowed, limited := sec.Tags[secretkind.TagAllowedServiceAccounts]
		d, err := s.replaceCredentials(ctx, name, &sec, *req.creds)
		if err != nil {
			return Connection{}, err
		}
		doc = &d
		if limited { // the tag stays on the secret; keep it in the answer
			sec.Tags[secretkind.TagAllowedServiceAccounts] = allowed
		}
	}
	if req.allowed != nil {
		if err := s.setAllowedServiceAccounts(ctx, name, &sec, *req.allowed); err != nil {
			return Connection{}, err
		}
	}
	if req.description != nil {
		if err := s.store.SetDescription(ctx, sec.ARN, *req.description); err != nil {
			return Connection{}, s.updateFailure(name, err)
		}
		sec.Description = *req.description
	}
	sec.LastChangedAt = s.now().UTC().Truncate(time.Millisecond)
	if doc == nil {
		d, err := s.readDocument(ctx, name, sec)
		if err != nil {
			return Connection{}, err
		}
		doc = &d
	}
	s.log.InfoContext(ctx, "connection updated", "connection", name,
		"credentials_changed", req.creds != nil, "description_changed", req.description != nil,
		"allowed_service_accounts_changed", req.allowed != nil)
	return s.connectionFrom(name, sec, doc), nil
}

// setAllowedServiceAccounts writes (or, for an empty list, removes) the
// secretkind.TagAllowedServiceAccounts tag. Removing matters: the managed-key service
// reads a present but empty tag as "no service account allowed".
func (s *Service) setAllowedServiceAccounts(ctx context.Context, name string, sec *secretstore.Secret, ids []string) error {
	var err error
	if len(ids) == 0 {
		err = s.store.Untag(ctx, sec.ARN, []string{secretkind.TagAllowedServiceAccounts})
	} else {
		err = s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagAllowedServiceAccounts: strings.Join(ids, " ")})
	}
	if err != nil {
		return s.updateFailure(name, err)
	}
	tags := maps.Clone(sec.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	delete(tags, secretkind.TagAllowedServiceAccounts)
	if len(ids) > 0 {
		tags[secretkind.TagAllowedServiceAccounts] = strings.Join(ids, " ")
	}
	sec.Tags = tags
	return nil
}

// replaceCredentials probes the new keys, writes them as the new AWSCURRENT
// version and refreshes the tags. sec is updated in place.
func (s *Service) replaceCredentials(ctx context.Context, name string, sec *secretstore.Secret, cr datadog.Credentials) (secretkind.Document, error) {
	// Writing a version during a rotation would make Secrets Manager
	// abandon that rotation, and the rotation function might then revoke
	// the keys we are about to store.
	if pending, ok := sec.VersionWith(secretstore.Pending); ok {
		if current, _ := sec.CurrentVersion(); pending != current {
			return secretkind.Document{}, rotationInProgress(name, nil)
		}
	}
	p := s.probeKeys(ctx, cr)
	if err := p.verdict(); err != nil {
		return secretkind.Document{}, err
	}
	v := p.validation(cr, s.now())
	doc := documentFor(cr, p)
	value, err := secretkind.Connection.Marshal(doc)
	if err != nil {
		return secretkind.Document{}, err
	}
	if _, err := s.store.Put(ctx, sec.ARN, "", value, nil, ""); err != nil {
		return secretkind.Document{}, s.updateFailure(name, err)
	}
	tags := metadataTags(cr.Site, p, v)
	if err := s.writeTags(ctx, name, sec.ARN, tags); err != nil {
		return secretkind.Document{}, err
	}
	sec.Tags = tags
	return doc, nil
}

func (s *Service) updateFailure(name string, err error) error {
	switch {
	case errors.Is(err, secretstore.ErrNotFound), errors.Is(err, secretstore.ErrPendingDeletion):
		return notFound(name, err)
	case errors.Is(err, secretstore.ErrRotationInProgress):
		return rotationInProgress(name, err)
	default:
		return storeFailure("updating connection "+name, err)
	}
}
