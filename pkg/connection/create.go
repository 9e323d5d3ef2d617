package connection

import (
	"context"
	"errors"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Create checks the credentials against Datadog and stores them as a new
// connection. The keys must be accepted; missing permissions only show up in
// the connection's capabilities.
func (s *Service) Create(ctx context.Context, in CreateInput) (Connection, error) {
	req, err := in.validate()
	if err != nil {
		return Connection{}, err
	}
	access.NoteTarget(ctx, req.name)
	access.NoteTeam(ctx, req.team)
	if err := access.CheckMember(ctx, req.team); err != nil {
		return Connection{}, err
	}
	// Refuse a taken name before calling Datadog. CreateSecret enforces
	// uniqueness anyway (two concurrent creates both pass this check, one
	// fails below); this only spares the live checks in the common case.
	if err := s.ensureFree(ctx, req.name); err != nil {
		return s.repeated(ctx, req, err)
	}
	p := s.probeKeys(ctx, req.creds)
	if err := p.verdict(); err != nil {
		return Connection{}, err
	}
	// Millisecond precision, like the timestamps read back from Secrets Manager.
	now := s.now().UTC().Truncate(time.Millisecond)
	v := p.validation(req.creds, now)
	doc := documentFor(req.creds, p)
	value, err := secretkind.Connection.Marshal(doc)
	if err != nil {
		return Connection{}, err
	}
	others, err := s.sharers(ctx, req.name, doc.KeyID)
	if err != nil {
		return Connection{}, err
	}
	tags := metadataTags(req.creds.Site, p, v)
	if req.team != "" {
		tags[secretkind.TagTeam] = req.team
	}
	newSecret := secretstore.CreateInput{
		Name:        s.secretName(req.name),
		Description: req.description,
		KMSKeyID:    s.kmsKeyID,
		Value:       value,
		Tags:        tags,
	}
	if req.requestID != "" {
		newSecret.Token = secretstore.TokenFor(req.requestID)
		tags[secretkind.TagRequestID] = req.requestID
	}
	sec, err := s.store.Create(ctx, newSecret)
	switch {
	case errors.Is(err, secretstore.ErrExists):
		return s.repeated(ctx, req, nameTaken(req.name, err))
	case errors.Is(err, secretstore.ErrPendingDeletion):
		return Connection{}, pendingDeletion(req.name, err)
	case err != nil:
		return Connection{}, storeFailure("creating connection "+req.name, err)
	}
	sec.Description, sec.Tags, sec.CreatedAt, sec.LastChangedAt = req.description, tags, now, now
	s.log.InfoContext(ctx, "connection created", "connection", req.name, "site", req.creds.Site.Name,
		"owner_id", doc.OwnerID, "application_key_id", doc.KeyID, "key_lookup", string(p.lookup), "valid", v.Valid)
	c := s.connectionFrom(req.name, sec, &doc)
	if len(others) > 0 {
		c.Warnings = append(c.Warnings, sharedKeyWarning(others))
	}
	return c, nil
}

// repeated answers a create whose name is taken (taken is the error to
// return otherwise): when the secret was created for the same request id,
// the request was already carried out, and the connection is returned.
func (s *Service) repeated(ctx context.Context, req validCreate, taken error) (Connection, error) {
	if req.requestID == "" || !errors.Is(taken, ErrExists) {
		return Connection{}, taken
	}
	c, ok, err := s.CreatedBy(ctx, req.name, req.requestID)
	if err != nil || !ok {
		return Connection{}, taken
	}
	return c, nil
}

// CreatedBy returns connection name if it is live and was created by a
// Create with RequestID requestID (ok is false otherwise): how a repeated
// request recognises its own work before it needs its input again.
func (s *Service) CreatedBy(ctx context.Context, name, requestID string) (c Connection, ok bool, err error) {
	sec, err := s.describe(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid):
		return Connection{}, false, nil
	case err != nil:
		return Connection{}, false, err
	case requestID == "" || sec.DeletedAt != nil || sec.Tags[secretkind.TagRequestID] != requestID:
		return Connection{}, false, nil
	}
	doc, err := s.readDocument(ctx, name, sec)
	if err != nil {
		return Connection{}, false, err
	}
	c, err = s.withAllowed(ctx, sec, s.connectionFrom(name, sec, &doc))
	return c, err == nil, err
}

// ensureFree fails when the name is taken or scheduled for deletion. Of a
// connection the caller may not see it says only that the name is taken.
func (s *Service) ensureFree(ctx context.Context, name string) error {
	sec, err := s.store.Describe(ctx, s.secretName(name))
	switch {
	case errors.Is(err, secretstore.ErrNotFound):
		return nil
	case err != nil:
		return storeFailure("checking connection name "+name, err)
	case !access.Sees(ctx, sec.Tags[secretkind.TagTeam]):
		return nameTaken(name, nil)
	case sec.DeletedAt != nil:
		return pendingDeletion(name, nil)
	default:
		return nameTaken(name, nil)
	}
}

// documentFor is the secret document of credentials that passed the checks.
func documentFor(cr datadog.Credentials, p probe) secretkind.Document {
	return secretkind.Document{
		URL:                   cr.Site.URL(),
		APIKey:                cr.APIKey,
		Key:                   cr.AppKey,
		KeyID:                 p.key.ID,
		OwnerID:               p.owner.ID,
		OwnerIsServiceAccount: p.owner.ServiceAccount,
		Scopes:                p.key.Scopes,
	}
}
