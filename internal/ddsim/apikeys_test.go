package ddsim

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/ddconn/ddconn/internal/testkit"
)

var apiKeyFormat = regexp.MustCompile(`^[0-9a-f]{32}$`)

func createAPIKeyBody(name string) datadogV2.APIKeyCreateRequest {
	return datadogV2.APIKeyCreateRequest{Data: datadogV2.APIKeyCreateData{
		Type: datadogV2.APIKEYSTYPE_API_KEYS, Attributes: datadogV2.APIKeyCreateAttributes{Name: name},
	}}
}

func TestAPIKeyLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	km := f.keys()
	ctx := f.as(f.robotKey)

	res, resp, err := km.CreateAPIKey(ctx, createAPIKeyBody("ingest"))
	if code := statusOf(t, resp, err); code != http.StatusCreated {
		t.Fatalf("create: status %d, errors %v", code, errorsOf(err))
	}
	attrs := res.Data.GetAttributes()
	secret, id := attrs.GetKey(), res.Data.GetId()
	switch {
	case !apiKeyFormat.MatchString(secret):
		t.Errorf("key is not 32 lowercase hex characters (length %d)", len(secret))
	case attrs.GetLast4() != secret[28:]:
		t.Error("last4 does not match the secret")
	case attrs.GetCategory() != "default" || !attrs.GetCreatedAt().Equal(f.clock.Now()):
		t.Errorf("category %q created_at %v", attrs.GetCategory(), attrs.GetCreatedAt())
	case res.Data.Relationships.CreatedBy.Data.Id != f.robotID:
		t.Errorf("created_by %q, want the calling key's owner", res.Data.Relationships.CreatedBy.Data.Id)
	}
	if _, resp, err := f.auth().Validate(f.ctx(secret, "")); statusOf(t, resp, err) != http.StatusOK {
		t.Fatal("new API key does not validate")
	}

	t.Run("names are unique per org", func(t *testing.T) {
		_, resp, err := km.CreateAPIKey(ctx, createAPIKeyBody("ingest"))
		if code := statusOf(t, resp, err); code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", code)
		}
		other := f.sim.CreateOrg("Other")
		otherAPI, _ := f.sim.AddAPIKey(other, "other")
		otherUser := f.sim.AddUser(other, UserSpec{Name: "o", Permissions: []string{"api_keys_write"}})
		otherApp, _ := f.sim.AddAppKey(otherUser, "o", nil)
		_, resp, err = km.CreateAPIKey(f.ctx(otherAPI, otherApp), createAPIKeyBody("ingest"))
		if code := statusOf(t, resp, err); code != http.StatusCreated {
			t.Errorf("same name in another org: status %d, want 201", code)
		}
	})

	t.Run("get and list never show the secret", func(t *testing.T) {
		got, resp, err := km.GetAPIKey(ctx, id, *datadogV2.NewGetAPIKeyOptionalParameters().WithInclude("created_by"))
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Fatalf("get: status %d", code)
		}
		if got.Data.Attributes.GetKey() != "" || got.Data.Attributes.GetName() != "ingest" {
			t.Errorf("get: name %q, key shown %v", got.Data.Attributes.GetName(), got.Data.Attributes.GetKey() != "")
		}
		if len(got.Included) != 1 || got.Included[0].User == nil || got.Included[0].User.GetId() != f.robotID {
			t.Errorf("included creator missing: %+v", got.Included)
		}
		_, resp, err = km.ListAPIKeys(ctx)
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Errorf("list: status %d", code)
		}
		testkit.AssertNoKeyMaterial(t, readAll(t, resp), secret)
	})

	t.Run("delete", func(t *testing.T) {
		resp, err := km.DeleteAPIKey(ctx, id)
		if code := statusOf(t, resp, err); code != http.StatusNoContent {
			t.Fatalf("status %d", code)
		}
		resp, err = km.DeleteAPIKey(ctx, id)
		if code := statusOf(t, resp, err); code != http.StatusNotFound {
			t.Errorf("second delete: status %d, want 404", code)
		}
		_, resp, err = km.GetAPIKey(ctx, id)
		if code := statusOf(t, resp, err); code != http.StatusNotFound {
			t.Errorf("get after delete: status %d, want 404", code)
		}
		if _, resp, err := f.auth().Validate(f.ctx(secret, "")); statusOf(t, resp, err) != http.StatusForbidden {
			t.Error("deleted API key still validates")
		}
	})

	t.Run("keys of another org are not found", func(t *testing.T) {
		other := f.sim.CreateOrg("Third")
		_, foreignID := f.sim.AddAPIKey(other, "foreign")
		resp, err := km.DeleteAPIKey(ctx, foreignID)
		if code := statusOf(t, resp, err); code != http.StatusNotFound {
			t.Errorf("status %d, want 404", code)
		}
	})
}

func TestAPIKeyListing(t *testing.T) {
	f := newFixture(t, Options{}) // holds "acme-main", created at t0
	for _, name := range []string{"zeta", "beta-ci"} {
		f.clock.Advance(time.Minute)
		f.sim.AddAPIKey(f.orgID, name)
	}
	params := datadogV2.NewListAPIKeysOptionalParameters
	tests := []struct {
		name      string
		params    *datadogV2.ListAPIKeysOptionalParameters
		wantNames []string
	}{
		{"default sort is name", params(), []string{"acme-main", "beta-ci", "zeta"}},
		{"newest first, paged", params().WithSort(datadogV2.APIKEYSSORT_CREATED_AT_DESCENDING).WithPageSize(2), []string{"beta-ci", "zeta"}},
		{"filter by name", params().WithFilter("CI"), []string{"beta-ci"}},
		{"category filter", params().WithFilterCategory("default"), []string{"acme-main", "beta-ci", "zeta"}},
		{"remote config filter", params().WithFilterRemoteConfigReadEnabled(true), []string{}},
		{"modified_at window", params().WithFilterModifiedAtStart(f.clock.Now().Format(time.RFC3339)), []string{"beta-ci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, resp, err := f.keys().ListAPIKeys(f.as(f.adminKey), *tt.params)
			if code := statusOf(t, resp, err); code != http.StatusOK {
				t.Fatalf("status %d, errors %v", code, errorsOf(err))
			}
			names := []string{}
			for _, k := range list.Data {
				names = append(names, k.Attributes.GetName())
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("names %v, want %v", names, tt.wantNames)
			}
			if list.Meta.GetMaxAllowed() != maxAPIKeysPerOrg {
				t.Errorf("max_allowed %d", list.Meta.GetMaxAllowed())
			}
		})
	}
}
