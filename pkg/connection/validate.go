package connection

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
)

// ValidateCredentials checks credentials against Datadog and stores nothing.
// Keys Datadog rejects give a Validation with Valid false, not an error.
func (s *Service) ValidateCredentials(ctx context.Context, in CredentialsInput) (Validation, error) {
	var errs fieldErrors
	cr := checkCredentials(&errs, &in)
	if err := errs.err(); err != nil {
		return Validation{}, err
	}
	return s.validate(ctx, cr)
}

// ValidateStored checks a connection's current keys and records the result
// on the connection (valid, lastValidatedAt).
func (s *Service) ValidateStored(ctx context.Context, name string) (Validation, error) {
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return Validation{}, err
	}
	doc, err := s.readDocument(ctx, name, sec)
	if err != nil {
		return Validation{}, err
	}
	cr, err := secretkind.Connection.Credentials(doc, secretkind.Manager{})
	if err != nil {
		return Validation{}, err
	}
	v, err := s.validate(ctx, cr)
	if err != nil {
		return Validation{}, err
	}
	if err := s.store.Tag(ctx, sec.ARN, validationTags(v)); err != nil {
		return Validation{}, s.updateFailure(name, err)
	}
	s.log.InfoContext(ctx, "connection validated", "connection", name, "valid", v.Valid)
	return v, nil
}

func (s *Service) validate(ctx context.Context, cr datadog.Credentials) (Validation, error) {
	p := s.probeKeys(ctx, cr)
	// Only an outage is an error here: rejected keys are a result.
	if err := p.verdict(); errors.Is(err, ErrDatadogUnavailable) {
		return Validation{}, err
	}
	return p.validation(cr, s.now()), nil
}

// ServiceAccount is a Datadog service account visible to a connection.
type ServiceAccount struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Disabled bool   `json:"disabled"`
}

// ServiceAccounts lists the organisation's service accounts visible to the
// connection's keys, sorted by name.
func (s *Service) ServiceAccounts(ctx context.Context, name string) ([]ServiceAccount, error) {
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return nil, err
	}
	doc, err := s.readDocument(ctx, name, sec)
	if err != nil {
		return nil, err
	}
	cr, err := secretkind.Connection.Credentials(doc, secretkind.Manager{})
	if err != nil {
		return nil, err
	}
	users, err := s.dd.ListServiceAccounts(ctx, cr)
	switch {
	case errors.Is(err, datadog.ErrUnauthorized):
		return nil, &Error{Kind: ErrRejected, Err: err, Message: "Datadog refused to list users with this connection's keys: " +
			"the keys were rejected, or the application key lacks " + permUserAccessRead}
	case err != nil:
		return nil, unavailable(err)
	}
	out := make([]ServiceAccount, 0, len(users))
	for _, u := range users {
		out = append(out, ServiceAccount{ID: u.ID, Name: u.Name, Email: u.Email, Disabled: u.Disabled})
	}
	slices.SortFunc(out, func(a, b ServiceAccount) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
