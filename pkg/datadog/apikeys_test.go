package datadog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/datadog"
)

// apiKeyCreds returns credentials of a new service account holding every
// API-key permission, with an application key scoped to scopes.
func (o *org) apiKeyCreds(t *testing.T, scopes ...string) datadog.Credentials {
	t.Helper()
	owner := o.sim.AddUser(o.orgID, ddsim.UserSpec{Name: "key admin", ServiceAccount: true,
		Permissions: []string{"api_keys_read", "api_keys_write", "api_keys_delete"}})
	return o.creds(t, owner, scopes)
}

func TestAPIKeyLifecycle(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	cr := o.apiKeyCreds(t, "api_keys_read", "api_keys_write", "api_keys_delete")
	ctx := context.Background()

	k, err := o.client.CreateAPIKey(ctx, cr, "ddconn-test-key")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Key) != 32 || k.ID == "" || k.Name != "ddconn-test-key" || k.Last4 != k.Key[28:] || k.CreatedAt.IsZero() {
		t.Fatalf("created key: id %q name %q last4 %q, key length %d", k.ID, k.Name, k.Last4, len(k.Key))
	}
	if err := o.client.ValidateAPIKey(ctx, datadog.Credentials{Site: us5, APIKey: k.Key}); err != nil {
		t.Fatalf("the new API key does not validate: %v", err)
	}

	keys, err := o.client.ListAPIKeys(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(l datadog.APIKey) bool { return l.ID == k.ID })
	if len(keys) != 2 || i < 0 {
		t.Fatalf("listed %d keys, want the org's key and the new one", len(keys))
	}
	if l := keys[i]; l.Key != "" || l.Name != k.Name || l.Last4 != k.Last4 || l.CreatedAt.IsZero() {
		t.Fatalf("listed key = id %q name %q last4 %q (secret shown: %v)", l.ID, l.Name, l.Last4, l.Key != "")
	}

	if _, err := o.client.CreateAPIKey(ctx, cr, "ddconn-test-key"); !errors.Is(err, datadog.ErrBadRequest) {
		t.Fatalf("creating a second key of the same name = %v, want ErrBadRequest", err)
	}

	if err := o.client.DeleteAPIKey(ctx, cr, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := o.client.ValidateAPIKey(ctx, datadog.Credentials{Site: us5, APIKey: k.Key}); !errors.Is(err, datadog.ErrUnauthorized) {
		t.Fatalf("the deleted API key validates: %v", err)
	}
	if err := o.client.DeleteAPIKey(ctx, cr, k.ID); err != nil {
		t.Fatalf("deleting an absent key = %v, want nil (404 counts as done)", err)
	}
}

func TestListAPIKeysReadsEveryPage(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	cr := o.apiKeyCreds(t, "api_keys_read", "api_keys_write")
	ctx := context.Background()
	// Datadog caps an org at 50 API keys, below one page of 100, so this
	// checks that every key is listed exactly once rather than paging.
	for i := range 30 {
		if _, err := o.client.CreateAPIKey(ctx, cr, fmt.Sprintf("extra-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := o.client.ListAPIKeys(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 31 {
		t.Fatalf("ListAPIKeys returned %d keys, want 31", len(keys))
	}
}

func TestAPIKeyPermissions(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	ctx := context.Background()
	readOnly := o.apiKeyCreds(t, "api_keys_read")
	tests := []struct {
		name string
		call func() error
	}{
		{"create needs api_keys_write", func() error { _, err := o.client.CreateAPIKey(ctx, readOnly, "x"); return err }},
		{"delete needs api_keys_delete", func() error { return o.client.DeleteAPIKey(ctx, readOnly, "some-id") }},
		{"list needs api_keys_read", func() error {
			_, err := o.client.ListAPIKeys(ctx, o.apiKeyCreds(t, "api_keys_write"))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, datadog.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestAPIKeyFaults(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	cr := o.apiKeyCreds(t, "api_keys_read", "api_keys_write", "api_keys_delete")
	ctx := context.Background()
	o.sim.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/api_keys", Status: 503})
	t.Cleanup(o.sim.ClearFaults)
	var ae *datadog.APIError
	if _, err := o.client.CreateAPIKey(ctx, cr, "x"); !errors.Is(err, datadog.ErrUnavailable) || !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("err = %v, want ErrUnavailable with status 503", err)
	}
}
