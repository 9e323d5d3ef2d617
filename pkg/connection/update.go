package connection

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
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
	if err := checkUpdateAccess(ctx, req); err != nil {
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
	if req.team != nil {
		if err := s.setTeam(ctx, name, &sec, *req.team); err != nil {
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
		"allowed_service_accounts_changed", req.allowed != nil, "team_changed", req.team != nil)
	return s.withAllowed(ctx, sec, s.connectionFrom(name, sec, doc))
}

// checkUpdateAccess refuses the changes only administrators may make:
// moving the connection to another team, and changing the service
// accounts it may mint for.
func checkUpdateAccess(ctx context.Context, req validUpdate) error {
	if req.team != nil {
		if err := access.CheckAdmin(ctx, "moving a connection to another team"); err != nil {
			return err
		}
		if err := access.CheckMember(ctx, *req.team); err != nil {
			return err
		}
	}
	if req.allowed != nil {
		return access.CheckAdmin(ctx, "changing allowedServiceAccounts")
	}
	return nil
}

// setTeam moves the connection to team ("" removes its team).
func (s *Service) setTeam(ctx context.Context, name string, sec *secretstore.Secret, team string) error {
	var err error
	if team == "" {
		err = s.store.Untag(ctx, sec.ARN, []string{secretkind.TagTeam})
		delete(sec.Tags, secretkind.TagTeam)
	} else {
		err = s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagTeam: team})
		sec.Tags[secretkind.TagTeam] = team
	}
	if err != nil {
		return s.updateFailure(name, err)
	}
	return nil
}

// setAllowedServiceAccounts writes (or, for an empty list, removes) the
// secretkind.TagAllowedServiceAccounts tag. Removing matters: the managed-key service
// reads a present but empty tag as "no service account allowed".
//
// A list too long for the tag goes to the secret's settings version
// (secretkind.SettingsStage) first, and the tag then says so
// (secretkind.AllowedInSettings): a crash between the two leaves the old
// list in force.
func (s *Service) setAllowedServiceAccounts(ctx context.Context, name string, sec *secretstore.Secret, ids []string) error {
	value, inSettings := secretkind.AllowedTag(ids)
	if inSettings {
		doc, err := secretkind.MarshalSettings(secretkind.Settings{AllowedServiceAccounts: ids})
		if err != nil {
			return err
		}
		if _, err := s.store.Put(ctx, sec.ARN, "", doc, []string{secretkind.SettingsStage}, ""); err != nil {
			return s.updateFailure(name, err)
		}
	}
	var err error
	if len(ids) == 0 {
		err = s.store.Untag(ctx, sec.ARN, []string{secretkind.TagAllowedServiceAccounts})
	} else {
		err = s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagAllowedServiceAccounts: value})
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
		tags[secretkind.TagAllowedServiceAccounts] = value
	}
	sec.Tags = tags
	return nil
}

// replaceCredentials probes the new keys, writes them as the new AWSCURRENT
// version and refreshes the identity tags. sec is updated in place.
//
// Retired keys awaiting revocation stay recorded whoever owns the new key:
// each record names the owner of its key, and the rotation function's
// Reconcile revokes it only through a manager of that owner (the new key
// itself when it has that owner or manages that service account), or keeps
// it and says on the secret what to do. A record that names no owner means
// "the current key's owner", so before the new version is written, such
// records are given the owner of the key being replaced (see
// pinRetirementOwners). The replaced key itself stays AWSPREVIOUS and is not
// retired: the user chose to replace it.
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
	if err := s.pinRetirementOwners(ctx, name, sec); err != nil {
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
	kept := maps.Clone(sec.Tags)
	for _, k := range staleTags(tags) {
		delete(kept, k)
	}
	if kept == nil {
		kept = map[string]string{}
	}
	maps.Copy(kept, tags)
	sec.Tags = kept
	return doc, nil
}

// pinRetirementOwners writes the owner of the AWSCURRENT key into every
// retirement record of sec that names no owner, and updates sec.Tags. It is
// the write-ahead step of a credentials change: it runs before the new
// version, so a record never comes to stand for the new key's owner.
// Without such records it reads nothing; when the replaced document names
// no owner there is nothing to write, and the records keep their meaning.
func (s *Service) pinRetirementOwners(ctx context.Context, name string, sec *secretstore.Secret) error {
	var unpinned []rotationstate.Retirement
	for _, r := range rotationstate.Retirements(sec.Tags) {
		if r.Owner == (rotationstate.Owner{}) {
			unpinned = append(unpinned, r)
		}
	}
	if len(unpinned) == 0 {
		return nil
	}
	cur, err := s.readDocument(ctx, name, *sec)
	if err != nil {
		return err
	}
	owner := rotationstate.OwnerOf(cur)
	if owner.ID == "" {
		return nil
	}
	pinned := map[string]string{}
	for _, r := range unpinned {
		r.Owner = owner
		k, v := r.Tag()
		pinned[k] = v
	}
	if err := s.store.Tag(ctx, sec.ARN, pinned); err != nil {
		return s.updateFailure(name, err)
	}
	tags := maps.Clone(sec.Tags)
	maps.Copy(tags, pinned)
	sec.Tags = tags
	return nil
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
