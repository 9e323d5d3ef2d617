package datadog_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ddconn/ddconn/pkg/datadog"
)

// TestListingsReportLastUse: the listings carry Datadog's last_used_at
// (application keys) and date_last_used (API keys), nil for a key never
// used, so the when-unused policy can tell whether a retired key is in use.
func TestListingsReportLastUse(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	ctx := context.Background()
	cr := o.apiKeyCreds(t, "api_keys_read", "api_keys_write")
	unused, err := o.client.CreateAPIKey(ctx, cr, "unused")
	if err != nil {
		t.Fatal(err)
	}
	apiKeys, err := o.client.ListAPIKeys(ctx, cr)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range apiKeys {
		switch used := k.LastUsedAt != nil; {
		case k.ID == unused.ID && used:
			t.Errorf("API key %s was never used, listed as used at %v", k.Name, k.LastUsedAt)
		case k.ID != unused.ID && !used:
			t.Errorf("API key %s authenticated the listing, listed as never used", k.Name)
		}
	}
	appKeys, err := o.client.ListAppKeys(ctx, o.creds(t, o.userID, nil), datadog.KeyOwner{})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(appKeys, func(k datadog.AppKey) bool { return k.LastUsedAt != nil }); i < 0 || len(appKeys) != 1 {
		t.Errorf("application keys %+v, want the one that authenticated the listing listed as used", appKeys)
	}
}
