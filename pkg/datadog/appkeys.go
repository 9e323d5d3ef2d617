package datadog

import (
	"context"
	"net/http"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// AppKey is a Datadog application key.
type AppKey struct {
	ID, Name, Last4 string
	// OwnerID is the user or service account that owns the key.
	OwnerID string
	// Scopes are the key's permission scopes; nil means unscoped (the key
	// has every permission of its owner).
	Scopes    []string
	CreatedAt time.Time
	// LastUsedAt is Datadog's last_used_at, set by listings; nil when the
	// key was never used (or the time is unreadable).
	LastUsedAt *time.Time
	// Key is the secret itself, set only by CreateAppKey: Datadog shows it
	// once, in the creation response.
	Key string
}

// APIKey is a Datadog API key.
type APIKey struct {
	ID, Name, Last4 string
	// Key is the secret itself, set only when Datadog returns it.
	Key       string
	CreatedAt time.Time
	// LastUsedAt is Datadog's date_last_used, set by listings; nil when
	// the key was never used.
	LastUsedAt *time.Time
}

// KeyOwner chooses whose application keys a call works on. The zero value
// means the caller's own keys (/api/v2/current_user/application_keys);
// ServiceAccountID means that service account's keys
// (/api/v2/service_accounts/{id}/application_keys).
type KeyOwner struct {
	ServiceAccountID string
}

func (o KeyOwner) isServiceAccount() bool { return o.ServiceAccountID != "" }

// ListAppKeys returns every application key of the owner, oldest first.
func (c *Client) ListAppKeys(ctx context.Context, cr Credentials, o KeyOwner) ([]AppKey, error) {
	const op = "listing application keys"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return nil, err
	}
	var out []AppKey
	for page := int64(0); page < maxPages; page++ {
		res, resp, err := c.appKeyPage(ctx, o, page)
		if err != nil {
			return nil, translate(op, resp, err)
		}
		for _, k := range res.Data {
			out = append(out, appKeyFromPartial(k))
		}
		if len(res.Data) < pageSize {
			break
		}
	}
	return out, nil
}

func (c *Client) appKeyPage(ctx context.Context, o KeyOwner, page int64) (datadogV2.ListApplicationKeysResponse, *http.Response, error) {
	if o.isServiceAccount() {
		p := datadogV2.NewListServiceAccountApplicationKeysOptionalParameters().
			WithPageSize(pageSize).WithPageNumber(page).WithSort(datadogV2.APPLICATIONKEYSSORT_CREATED_AT_ASCENDING)
		return c.sas.ListServiceAccountApplicationKeys(ctx, o.ServiceAccountID, *p)
	}
	p := datadogV2.NewListCurrentUserApplicationKeysOptionalParameters().
		WithPageSize(pageSize).WithPageNumber(page).WithSort(datadogV2.APPLICATIONKEYSSORT_CREATED_AT_ASCENDING)
	return c.keys.ListCurrentUserApplicationKeys(ctx, *p)
}

// CreateAppKey creates an application key for the owner. scopes nil creates
// an unscoped key. The returned AppKey carries the secret in Key.
func (c *Client) CreateAppKey(ctx context.Context, cr Credentials, o KeyOwner, name string, scopes []string) (AppKey, error) {
	const op = "creating an application key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return AppKey{}, err
	}
	attrs := datadogV2.ApplicationKeyCreateAttributes{Name: name}
	if scopes != nil {
		attrs.Scopes = *dd.NewNullableList(&scopes)
	}
	body := datadogV2.ApplicationKeyCreateRequest{Data: datadogV2.ApplicationKeyCreateData{
		Type:       datadogV2.APPLICATIONKEYSTYPE_APPLICATION_KEYS,
		Attributes: attrs,
	}}
	var res datadogV2.ApplicationKeyResponse
	var resp *http.Response
	if o.isServiceAccount() {
		res, resp, err = c.sas.CreateServiceAccountApplicationKey(ctx, o.ServiceAccountID, body)
	} else {
		res, resp, err = c.keys.CreateCurrentUserApplicationKey(ctx, body)
	}
	if err != nil {
		return AppKey{}, translate(op, resp, err)
	}
	key, ok := appKeyFromFull(res.Data)
	if !ok {
		// The key exists in Datadog but we cannot use it; the caller's
		// janitor finds it by name.
		return AppKey{}, unexpected(op, resp.StatusCode, "the response has no key id or secret")
	}
	return key, nil
}

// DeleteAppKey deletes an application key. A key that is already gone
// (404) counts as deleted.
func (c *Client) DeleteAppKey(ctx context.Context, cr Credentials, o KeyOwner, id string) error {
	const op = "deleting an application key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return err
	}
	var resp *http.Response
	if o.isServiceAccount() {
		resp, err = c.sas.DeleteServiceAccountApplicationKey(ctx, o.ServiceAccountID, id)
	} else {
		resp, err = c.keys.DeleteCurrentUserApplicationKey(ctx, id)
	}
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return translate(op, resp, err)
}

func appKeyFromPartial(k datadogV2.PartialApplicationKey) AppKey {
	out := AppKey{ID: k.GetId(), OwnerID: ownerOf(k.Relationships)}
	if a := k.Attributes; a != nil {
		out.Name = a.GetName()
		out.Last4 = a.GetLast4()
		out.Scopes = scopesOf(a.Scopes)
		// List entries carry created_at as a plain string; an unparsable
		// one leaves CreatedAt zero rather than failing the listing.
		out.CreatedAt, _ = time.Parse(time.RFC3339, a.GetCreatedAt())
		if used, ok := a.GetLastUsedAtOk(); ok && used != nil {
			if t, err := time.Parse(time.RFC3339, *used); err == nil {
				out.LastUsedAt = &t
			}
		}
	}
	return out
}

func appKeyFromFull(k *datadogV2.FullApplicationKey) (AppKey, bool) {
	if k == nil || k.GetId() == "" || k.Attributes == nil || k.Attributes.GetKey() == "" {
		return AppKey{}, false
	}
	a := k.Attributes
	return AppKey{
		ID:        k.GetId(),
		Name:      a.GetName(),
		Last4:     a.GetLast4(),
		OwnerID:   ownerOf(k.Relationships),
		Scopes:    scopesOf(a.Scopes),
		CreatedAt: a.GetCreatedAt(),
		Key:       a.GetKey(),
	}, true
}

func ownerOf(r *datadogV2.ApplicationKeyRelationships) string {
	if r == nil || r.OwnedBy == nil {
		return ""
	}
	return r.OwnedBy.Data.Id
}

// scopesOf returns nil for an unscoped key, whether Datadog sent null or
// left the field out.
func scopesOf(l dd.NullableList[string]) []string {
	p := l.Get()
	if p == nil || *p == nil {
		return nil
	}
	return append([]string{}, (*p)...)
}

// RenameAppKey renames an application key, leaving its scopes as they are.
// A key that is already gone (404) counts as done.
func (c *Client) RenameAppKey(ctx context.Context, cr Credentials, o KeyOwner, id, name string) error {
	const op = "renaming an application key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return err
	}
	body := datadogV2.ApplicationKeyUpdateRequest{Data: datadogV2.ApplicationKeyUpdateData{
		Id:         id,
		Type:       datadogV2.APPLICATIONKEYSTYPE_APPLICATION_KEYS,
		Attributes: datadogV2.ApplicationKeyUpdateAttributes{Name: &name},
	}}
	var resp *http.Response
	if o.isServiceAccount() {
		_, resp, err = c.sas.UpdateServiceAccountApplicationKey(ctx, o.ServiceAccountID, id, body)
	} else {
		_, resp, err = c.keys.UpdateCurrentUserApplicationKey(ctx, id, body)
	}
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return translate(op, resp, err)
}
