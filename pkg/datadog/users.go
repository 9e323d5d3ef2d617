package datadog

import (
	"context"
	"net/http"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// User is a Datadog user or service account.
type User struct {
	ID, Name, Email, Handle string
	// ServiceAccount is Datadog's service_account attribute.
	ServiceAccount bool
	// Disabled is true for deactivated users.
	Disabled bool
}

// pageSize is the largest page Datadog's list endpoints serve.
const pageSize = 100

// maxPages bounds every paginated listing (10 000 items), so a server that
// keeps answering full pages cannot keep a call going forever.
const maxPages = 100

// CurrentUser returns the owner of the application key
// (GET /api/v2/current_user).
func (c *Client) CurrentUser(ctx context.Context, cr Credentials) (User, error) {
	const op = "reading the current user"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return User{}, err
	}
	res, resp, err := c.users.GetCurrentUser(ctx)
	if err != nil {
		return User{}, translate(op, resp, err)
	}
	if res.Data == nil || res.Data.GetId() == "" {
		return User{}, unexpected(op, http.StatusOK, "the response has no user id")
	}
	return userFrom(*res.Data), nil
}

// ListServiceAccounts returns every service account of the organisation that
// the credentials can see (GET /api/v2/users, every page). Datadog's list
// has no documented service-account filter, so the service_account attribute
// is checked here.
func (c *Client) ListServiceAccounts(ctx context.Context, cr Credentials) ([]User, error) {
	const op = "listing service accounts"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return nil, err
	}
	var out []User
	for page := int64(0); page < maxPages; page++ {
		params := datadogV2.NewListUsersOptionalParameters().WithPageSize(pageSize).WithPageNumber(page)
		res, resp, err := c.users.ListUsers(ctx, *params)
		if err != nil {
			return nil, translate(op, resp, err)
		}
		for _, u := range res.Data {
			if u.Attributes != nil && u.Attributes.GetServiceAccount() {
				out = append(out, userFrom(u))
			}
		}
		if len(res.Data) < pageSize {
			break
		}
	}
	return out, nil
}

func userFrom(u datadogV2.User) User {
	out := User{ID: u.GetId()}
	if a := u.Attributes; a != nil {
		out.Name = a.GetName()
		out.Email = a.GetEmail()
		out.Handle = a.GetHandle()
		out.ServiceAccount = a.GetServiceAccount()
		out.Disabled = a.GetDisabled()
	}
	return out
}
