package datadog

import (
	"context"
	"net/http"
)

// ValidateAPIKey checks the API key alone (GET /api/v1/validate). It returns
// nil when Datadog accepts the key, and an error wrapping ErrUnauthorized
// when it does not.
func (c *Client) ValidateAPIKey(ctx context.Context, cr Credentials) error {
	const op = "validating the API key"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return err
	}
	res, resp, err := c.auth.Validate(ctx)
	if err != nil {
		return translate(op, resp, err)
	}
	if !res.GetValid() {
		return &APIError{Op: op, Status: http.StatusOK, Messages: []string{"the API key is not valid"}, kind: ErrUnauthorized}
	}
	return nil
}

// ValidateKeys checks the API key and the application key together
// (GET /api/v2/validate_keys).
func (c *Client) ValidateKeys(ctx context.Context, cr Credentials) error {
	const op = "validating the API and application keys"
	ctx, err := c.withCredentials(ctx, cr)
	if err != nil {
		return err
	}
	_, resp, err := c.keys.ValidateAPIKey(ctx)
	return translate(op, resp, err)
}
