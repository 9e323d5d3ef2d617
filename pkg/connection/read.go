package connection

import (
	"context"
	"errors"
	"strings"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Page sizes of List.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// Page is one page of connections.
type Page struct {
	Connections []Connection `json:"connections"`
	// NextCursor fetches the next page; "" on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// listVisible reads one page of the connection secrets the caller of ctx
// may see: for a caller in at most secretstore.MaxFilterValues teams (and
// no administrator), only its teams' secrets are read (ListSecrets
// filtered by TagTeam), so a page's cost does not grow with other teams'
// connections. List drops what the caller may not see either way.
func (s *Service) listVisible(ctx context.Context, limit int, cursor string) ([]secretstore.Secret, string, error) {
	c, ok := access.CallerFrom(ctx)
	switch {
	case !ok || c.Admin || len(c.Teams) > secretstore.MaxFilterValues:
		return s.store.List(ctx, s.prefix, limit, cursor)
	case len(c.Teams) == 0:
		return nil, "", nil
	default:
		return s.store.ListTagged(ctx, s.prefix, secretkind.TagTeam, c.Teams, limit, cursor)
	}
}

// Get returns connection name, with its scopes (read from the secret value).
func (s *Service) Get(ctx context.Context, name string) (Connection, error) {
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	doc, err := s.readDocument(ctx, name, sec)
	if err != nil {
		return Connection{}, err
	}
	return s.withAllowed(ctx, sec, s.connectionFrom(name, sec, &doc))
}

// withAllowed completes c with its allowed service accounts
// (secretkind.AllowedServiceAccounts): from the tag, or, for a list too
// long for it, from the settings version, the only case that reads.
func (s *Service) withAllowed(ctx context.Context, sec secretstore.Secret, c Connection) (Connection, error) {
	ids, _, err := secretkind.AllowedServiceAccounts(ctx, s.store, sec.ARN, sec.Tags)
	if err != nil {
		return Connection{}, storeFailure("reading the settings of connection "+c.Name, err)
	}
	c.AllowedServiceAccounts = ids
	return c, nil
}

// List returns up to limit connections (0 means defaultPageSize, 20) starting at
// cursor. It reads metadata only (ListSecrets), so listed connections have
// no scopes. A page may hold fewer than limit connections while NextCursor
// is set: Secrets Manager pages that way, and secrets under the prefix that
// ddconn did not create are skipped.
func (s *Service) List(ctx context.Context, limit int, cursor string) (Page, error) {
	if limit == 0 {
		limit = defaultPageSize
	}
	if limit < 1 || limit > maxPageSize {
		return Page{}, invalid(FieldError{"limit", LimitRule})
	}
	secrets, next, err := s.listVisible(ctx, limit, cursor)
	switch {
	case errors.Is(err, secretstore.ErrInvalid) && cursor != "":
		return Page{}, &Error{Kind: ErrInvalid, Message: "the request is invalid", Err: err,
			Details: []FieldError{{"cursor", "is not a cursor returned by this API (or it expired)"}}}
	case err != nil:
		return Page{}, storeFailure("listing connections", err)
	}
	page := Page{Connections: []Connection{}, NextCursor: next}
	for _, sec := range secrets {
		name := strings.TrimPrefix(sec.Name, s.prefix)
		if !managed(sec) || !secretkind.ValidName(name) || sec.DeletedAt != nil || !access.Sees(ctx, sec.Tags[secretkind.TagTeam]) {
			continue
		}
		c, err := s.withAllowed(ctx, sec, s.connectionFrom(name, sec, nil))
		if err != nil {
			return Page{}, err
		}
		page.Connections = append(page.Connections, c)
	}
	return page, nil
}
