package datadog

import (
	"context"
	"net/http"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// ListAPIKeys returns every API key of the caller's organisation, oldest
// first (GET /api/v2/api_keys, every page; needs api_keys_read). Listed keys
// never carry the secret.
func (c *Client) ListAPIKeys(ctx context.Context, cr Credentials) ([]APIKey, error) {
	const op = "listing API keys"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return nil, err
	}
	var out []APIKey
	for page := int64(0); page < maxPages; page++ {
		p := datadogV2.NewListAPIKeysOptionalParameters().
			WithPageSize(pageSize).WithPageNumber(page).WithSort(datadogV2.APIKEYSSORT_CREATED_AT_ASCENDING)
		res, resp, err := c.keys.ListAPIKeys(ctx, *p)
		if err != nil {
			return nil, translate(op, resp, err)
		}
		for _, k := range res.Data {
			out = append(out, apiKeyFromPartial(k))
		}
		if len(res.Data) < pageSize {
			break
		}
	}
	return out, nil
}

// CreateAPIKey creates an API key named name in the caller's organisation
// (POST /api/v2/api_keys; needs api_keys_write). The returned APIKey carries
// the secret in Key. Datadog refuses a name already in use (ErrBadRequest).
func (c *Client) CreateAPIKey(ctx context.Context, cr Credentials, name string) (APIKey, error) {
	const op = "creating an API key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return APIKey{}, err
	}
	body := datadogV2.APIKeyCreateRequest{Data: datadogV2.APIKeyCreateData{
		Type:       datadogV2.APIKEYSTYPE_API_KEYS,
		Attributes: datadogV2.APIKeyCreateAttributes{Name: name},
	}}
	res, resp, err := c.keys.CreateAPIKey(ctx, body)
	if err != nil {
		return APIKey{}, translate(op, resp, err)
	}
	key, ok := apiKeyFromFull(res.Data)
	if !ok {
		// The key exists but we cannot use it; the caller finds it by name.
		return APIKey{}, unexpected(op, resp.StatusCode, "the response has no key id or secret")
	}
	return key, nil
}

// DeleteAPIKey deletes an API key (DELETE /api/v2/api_keys/{id}; needs
// api_keys_delete). A key that is already gone (404) counts as deleted.
func (c *Client) DeleteAPIKey(ctx context.Context, cr Credentials, id string) error {
	const op = "deleting an API key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return err
	}
	resp, err := c.keys.DeleteAPIKey(ctx, id)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return translate(op, resp, err)
}

func apiKeyFromPartial(k datadogV2.PartialAPIKey) APIKey {
	out := APIKey{ID: k.GetId()}
	if a := k.Attributes; a != nil {
		out.Name = a.GetName()
		out.Last4 = a.GetLast4()
		// As for application keys, list entries carry created_at as a plain
		// string; an unparsable one leaves CreatedAt zero.
		out.CreatedAt, _ = time.Parse(time.RFC3339, a.GetCreatedAt())
		if used, ok := a.GetDateLastUsedOk(); ok && used != nil {
			t := *used
			out.LastUsedAt = &t
		}
	}
	return out
}

func apiKeyFromFull(k *datadogV2.FullAPIKey) (APIKey, bool) {
	if k == nil || k.GetId() == "" || k.Attributes == nil || k.Attributes.GetKey() == "" {
		return APIKey{}, false
	}
	a := k.Attributes
	return APIKey{ID: k.GetId(), Name: a.GetName(), Last4: a.GetLast4(), Key: a.GetKey(), CreatedAt: a.GetCreatedAt()}, true
}

// RenameAPIKey renames an API key (PATCH /api/v2/api_keys/{id}; needs
// api_keys_write). A key that is already gone (404) counts as done.
func (c *Client) RenameAPIKey(ctx context.Context, cr Credentials, id, name string) error {
	const op = "renaming an API key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return err
	}
	body := datadogV2.APIKeyUpdateRequest{Data: datadogV2.APIKeyUpdateData{
		Id:         id,
		Type:       datadogV2.APIKEYSTYPE_API_KEYS,
		Attributes: datadogV2.APIKeyUpdateAttributes{Name: name},
	}}
	_, resp, err := c.keys.UpdateAPIKey(ctx, id, body)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return translate(op, resp, err)
}
