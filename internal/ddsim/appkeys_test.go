package ddsim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/ddconn/ddconn/internal/testkit"
)

var (
	appKeyFormat = regexp.MustCompile(`^[a-z0-9]{40}$`)
	uuidFormat   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func updateKeyBody(id string, name *string, scopes *datadog.NullableList[string]) datadogV2.ApplicationKeyUpdateRequest {
	attrs := datadogV2.ApplicationKeyUpdateAttributes{Name: name}
	if scopes != nil {
		attrs.Scopes = *scopes
	}
	return datadogV2.ApplicationKeyUpdateRequest{Data: datadogV2.ApplicationKeyUpdateData{
		Id: id, Type: datadogV2.APPLICATIONKEYSTYPE_APPLICATION_KEYS, Attributes: attrs,
	}}
}

func TestCurrentUserApplicationKeyLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	km := f.keys()
	scopes := []string{"user_app_keys", "metrics_read"}

	res, resp, err := km.CreateCurrentUserApplicationKey(f.as(f.robotKey), createKeyBody("rot-1", scopes))
	if got := statusOf(t, resp, err); got != http.StatusCreated {
		t.Fatalf("create: status %d, errors %v", got, errorsOf(err))
	}
	attrs := res.Data.GetAttributes()
	secret, id := attrs.GetKey(), res.Data.GetId()
	switch {
	case !appKeyFormat.MatchString(secret):
		t.Errorf("key is not 40 lowercase alphanumerics (length %d)", len(secret))
	case attrs.GetLast4() != secret[36:]:
		t.Errorf("last4 does not match the secret's last four characters")
	case !uuidFormat.MatchString(id):
		t.Errorf("id %q is not a UUID", id)
	case !attrs.GetCreatedAt().Equal(f.clock.Now()):
		t.Errorf("created_at %v, want %v", attrs.GetCreatedAt(), f.clock.Now())
	case !slices.Equal(attrs.GetScopes(), scopes):
		t.Errorf("scopes %v, want %v", attrs.GetScopes(), scopes)
	case res.Data.Relationships.OwnedBy.Data.Id != f.robotID:
		t.Errorf("owned_by %q, want %q", res.Data.Relationships.OwnedBy.Data.Id, f.robotID)
	}
	if !f.sim.Authenticates(f.apiKey, secret) {
		t.Fatal("new key does not authenticate")
	}

	t.Run("get leaves the secret out (One-Time-Read)", func(t *testing.T) {
		got, resp, err := km.GetCurrentUserApplicationKey(f.as(secret), id)
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if _, has := got.Data.Attributes.GetKeyOk(); has {
			t.Error("GET returned the key secret")
		}
		if got.Data.Attributes.GetName() != "rot-1" {
			t.Errorf("name %q", got.Data.Attributes.GetName())
		}
	})

	t.Run("patch name keeps scopes", func(t *testing.T) {
		name := "rot-1-renamed"
		got, resp, err := km.UpdateCurrentUserApplicationKey(f.as(secret), id, updateKeyBody(id, &name, nil))
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Fatalf("status %d, errors %v", code, errorsOf(err))
		}
		if got.Data.Attributes.GetName() != name || !slices.Equal(got.Data.Attributes.GetScopes(), scopes) {
			t.Errorf("after patch: name %q scopes %v", got.Data.Attributes.GetName(), got.Data.Attributes.GetScopes())
		}
	})

	t.Run("patch scopes to null makes the key unscoped", func(t *testing.T) {
		got, resp, err := km.UpdateCurrentUserApplicationKey(f.as(secret), id, updateKeyBody(id, nil, datadog.NewNullableList[string](nil)))
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Fatalf("status %d, errors %v", code, errorsOf(err))
		}
		if got.Data.Attributes.GetScopes() != nil {
			t.Errorf("scopes %v, want null", got.Data.Attributes.GetScopes())
		}
		if _, resp, err := f.users().ListUsers(f.as(secret)); statusOf(t, resp, err) != http.StatusOK {
			t.Error("unscoped key lacks the owner's user_access_read")
		}
	})

	t.Run("patch with a different body id is a 400", func(t *testing.T) {
		name := "x"
		_, resp, err := km.UpdateCurrentUserApplicationKey(f.as(secret), id, updateKeyBody(newID(), &name, nil))
		if code := statusOf(t, resp, err); code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", code)
		}
	})

	t.Run("another user's key is not found", func(t *testing.T) {
		_, resp, err := km.GetCurrentUserApplicationKey(f.as(f.adminKey), id)
		if code := statusOf(t, resp, err); code != http.StatusNotFound {
			t.Errorf("status %d, want 404", code)
		}
	})

	t.Run("delete, then the id is gone", func(t *testing.T) {
		resp, err := km.DeleteCurrentUserApplicationKey(f.as(f.robotKey), id)
		if code := statusOf(t, resp, err); code != http.StatusNoContent {
			t.Fatalf("status %d", code)
		}
		resp, err = km.DeleteCurrentUserApplicationKey(f.as(f.robotKey), id)
		if code := statusOf(t, resp, err); code != http.StatusNotFound {
			t.Errorf("second delete: status %d, want 404", code)
		}
		_, resp, err = km.GetCurrentUserApplicationKey(f.as(f.robotKey), id)
		if code := statusOf(t, resp, err); code != http.StatusNotFound {
			t.Errorf("get after delete: status %d, want 404", code)
		}
	})
}

func TestShowKeyOnRead(t *testing.T) {
	tests := []struct {
		name          string
		showKeyOnRead bool
		wantOnGet     bool
	}{
		{"one-time-read org (default)", false, false},
		{"legacy org shows keys on read", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{ShowKeyOnRead: tt.showKeyOnRead})
			secret, id := f.mustCreateKey(f.adminKey, "readable", nil)
			got, resp, err := f.keys().GetCurrentUserApplicationKey(f.as(f.adminKey), id)
			if code := statusOf(t, resp, err); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if shown := got.Data.Attributes.GetKey() == secret; shown != tt.wantOnGet {
				t.Errorf("current-user GET shows key: %v, want %v", shown, tt.wantOnGet)
			}
			// Service-account reads use the Partial schema: never a key.
			saRes, resp, err := f.serviceAccounts().CreateServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, createKeyBody("sa", nil))
			if code := statusOf(t, resp, err); code != http.StatusCreated || saRes.Data.Attributes.GetKey() == "" {
				t.Fatalf("SA create: status %d, key returned %v", code, saRes.Data.Attributes.GetKey() != "")
			}
			_, resp, _ = f.serviceAccounts().GetServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, saRes.Data.GetId())
			body := readAll(t, resp)
			if !strings.Contains(body, saRes.Data.GetId()) {
				t.Fatal("service-account GET did not return the key")
			}
			testkit.AssertNoKeyMaterial(t, body, saRes.Data.Attributes.GetKey())
		})
	}
}

func TestCreateApplicationKeyValidation(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name       string
		fixture    string
		wantStatus int
		wantScopes string // raw JSON of data.attributes.scopes on success
	}{
		{"null scopes make an unscoped key", "create_key_null_scopes.json", http.StatusCreated, `"scopes":null`},
		{"absent scopes make an unscoped key", "create_key_no_scopes.json", http.StatusCreated, `"scopes":null`},
		{"duplicate scopes are folded", "create_key_duplicate_scopes.json", http.StatusCreated, `"scopes":["metrics_read"]`},
		{"empty scope list", "create_key_empty_scopes.json", http.StatusBadRequest, ""},
		{"unknown scope", "create_key_unknown_scope.json", http.StatusBadRequest, ""},
		{"scope the owner lacks", "create_key_unowned_scope.json", http.StatusBadRequest, ""},
		{"blank name", "create_key_blank_name.json", http.StatusBadRequest, ""},
		{"wrong type", "create_key_wrong_type.json", http.StatusBadRequest, ""},
		{"not JSON", "not_json.txt", http.StatusBadRequest, ""},
	}
	headers := map[string]string{"DD-API-KEY": f.apiKey, "DD-APPLICATION-KEY": f.robotKey, "Content-Type": "application/json"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.raw(http.MethodPost, "/api/v2/current_user/application_keys", headers, readFixture(t, tt.fixture))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusCreated {
				if !strings.HasPrefix(string(body), `{"errors":["`) {
					t.Errorf("error body is not an APIErrorResponse: %s", body)
				}
				return
			}
			if !strings.Contains(string(body), tt.wantScopes) {
				t.Errorf("created key lacks %s", tt.wantScopes)
			}
		})
	}
}

func TestServiceAccountKeyRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	sa := f.serviceAccounts()
	otherOrg := f.sim.CreateOrg("Other")
	foreignSA := f.sim.AddUser(otherOrg, UserSpec{Name: "foreign-bot", ServiceAccount: true})
	secondSA := f.sim.AddUser(f.orgID, UserSpec{Name: "second-bot", ServiceAccount: true, Permissions: []string{"metrics_read"}})

	res, resp, err := sa.CreateServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, createKeyBody("robot-2", []string{"metrics_read"}))
	if code := statusOf(t, resp, err); code != http.StatusCreated {
		t.Fatalf("create: status %d, errors %v", code, errorsOf(err))
	}
	id := res.Data.GetId()
	if res.Data.Relationships.OwnedBy.Data.Id != f.robotID {
		t.Errorf("owned_by %q, want the service account", res.Data.Relationships.OwnedBy.Data.Id)
	}

	t.Run("get, patch and list", func(t *testing.T) {
		got, resp, err := sa.GetServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, id)
		if code := statusOf(t, resp, err); code != http.StatusOK || got.Data.Attributes.GetName() != "robot-2" {
			t.Fatalf("get: status %d name %q", code, got.Data.Attributes.GetName())
		}
		name := "robot-2b"
		patched, resp, err := sa.UpdateServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, id, updateKeyBody(id, &name, nil))
		if code := statusOf(t, resp, err); code != http.StatusOK || patched.Data.Attributes.GetName() != name {
			t.Fatalf("patch: status %d name %q", code, patched.Data.Attributes.GetName())
		}
		if !slices.Equal(patched.Data.Attributes.GetScopes(), []string{"metrics_read"}) {
			t.Errorf("patch lost scopes: %v", patched.Data.Attributes.GetScopes())
		}
		list, resp, err := sa.ListServiceAccountApplicationKeys(f.as(f.adminKey), f.robotID)
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Fatalf("list: status %d", code)
		}
		if n := list.Meta.Page.GetTotalFilteredCount(); n != 2 { // robot-key from the fixture + robot-2b
			t.Errorf("total_filtered_count %d, want 2", n)
		}
	})

	notFound := []struct {
		name, saID, keyID string
	}{
		{"unknown service account", newID(), id},
		{"a human user is not a service account", f.adminID, id},
		{"service account of another org", foreignSA, id},
		{"key of a different service account", secondSA, id},
		{"unknown key", f.robotID, newID()},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) {
			ctx := f.as(f.adminKey)
			_, resp, err := sa.GetServiceAccountApplicationKey(ctx, tt.saID, tt.keyID)
			if code := statusOf(t, resp, err); code != http.StatusNotFound {
				t.Errorf("get: status %d, want 404", code)
			}
			resp, err = sa.DeleteServiceAccountApplicationKey(ctx, tt.saID, tt.keyID)
			if code := statusOf(t, resp, err); code != http.StatusNotFound {
				t.Errorf("delete: status %d, want 404", code)
			}
			if tt.keyID == id { // listing and creating address only the service account
				_, resp, err = sa.ListServiceAccountApplicationKeys(ctx, tt.saID)
				if code := statusOf(t, resp, err); code != http.StatusNotFound && tt.saID != secondSA {
					t.Errorf("list: status %d, want 404", code)
				}
			}
		})
	}

	t.Run("delete", func(t *testing.T) {
		resp, err := sa.DeleteServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, id)
		if code := statusOf(t, resp, err); code != http.StatusNoContent {
			t.Fatalf("status %d", code)
		}
		if slices.ContainsFunc(f.sim.Keys(), func(k KeyInfo) bool { return k.ID == id }) {
			t.Error("deleted key still listed by Keys")
		}
	})
}

func TestApplicationKeyListing(t *testing.T) {
	f := newFixture(t, Options{})
	owner := f.sim.AddUser(f.orgID, UserSpec{Name: "Lister", Permissions: []string{"user_app_keys"}})
	ownerKey, _ := f.sim.AddAppKey(owner, "m-setup", nil) // created at t0
	for _, name := range []string{"charlie", "alpha", "Bravo-prod", "delta-prod"} {
		f.clock.Advance(time.Minute)
		f.mustCreateKey(ownerKey, name, nil)
	}
	t0 := f.clock.Now().Add(-4 * time.Minute)
	params := datadogV2.NewListCurrentUserApplicationKeysOptionalParameters

	tests := []struct {
		name      string
		params    *datadogV2.ListCurrentUserApplicationKeysOptionalParameters
		wantNames []string
		wantTotal int64
	}{
		{"default sort is name, ascending, byte order", params(), []string{"Bravo-prod", "alpha", "charlie", "delta-prod", "m-setup"}, 5},
		{"descending name", params().WithSort(datadogV2.APPLICATIONKEYSSORT_NAME_DESCENDING), []string{"m-setup", "delta-prod", "charlie", "alpha", "Bravo-prod"}, 5},
		{"newest first", params().WithSort(datadogV2.APPLICATIONKEYSSORT_CREATED_AT_DESCENDING).WithPageSize(2), []string{"delta-prod", "Bravo-prod"}, 5},
		{"second page", params().WithSort(datadogV2.APPLICATIONKEYSSORT_CREATED_AT_ASCENDING).WithPageSize(2).WithPageNumber(1), []string{"alpha", "Bravo-prod"}, 5},
		{"page past the end", params().WithPageSize(2).WithPageNumber(3), []string{}, 5},
		{"filter is a case-insensitive substring of the name", params().WithFilter("PROD"), []string{"Bravo-prod", "delta-prod"}, 2},
		{"created_at window is inclusive", params().WithSort(datadogV2.APPLICATIONKEYSSORT_CREATED_AT_ASCENDING).
			WithFilterCreatedAtStart(t0.Add(time.Minute).Format(time.RFC3339)).
			WithFilterCreatedAtEnd(t0.Add(2 * time.Minute).Format("2006-01-02T15:04:05-07:00")), []string{"charlie", "alpha"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, resp, err := f.keys().ListCurrentUserApplicationKeys(f.as(ownerKey), *tt.params)
			if code := statusOf(t, resp, err); code != http.StatusOK {
				t.Fatalf("status %d, errors %v", code, errorsOf(err))
			}
			names := []string{}
			for _, k := range list.Data {
				names = append(names, k.Attributes.GetName())
				if _, has := k.Attributes.AdditionalProperties["key"]; has {
					t.Errorf("list entry %q carries a key", k.Attributes.GetName())
				}
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("names %v, want %v", names, tt.wantNames)
			}
			if got := list.Meta.Page.GetTotalFilteredCount(); got != tt.wantTotal {
				t.Errorf("total_filtered_count %d, want %d", got, tt.wantTotal)
			}
			if got := list.Meta.GetMaxAllowedPerUser(); got != defaultMaxKeysPerUser {
				t.Errorf("max_allowed_per_user %d, want %d", got, defaultMaxKeysPerUser)
			}
		})
	}

	t.Run("include owned_by", func(t *testing.T) {
		list, resp, err := f.keys().ListCurrentUserApplicationKeys(f.as(ownerKey), *params().WithInclude("owned_by"))
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if len(list.Included) != 1 || list.Included[0].User == nil || list.Included[0].User.GetId() != owner {
			t.Errorf("included = %+v, want the owner", list.Included)
		}
	})

	badRequests := []struct {
		name  string
		query string
	}{
		{"page size over 100", "page%5Bsize%5D=101"},
		{"page size zero", "page%5Bsize%5D=0"},
		{"negative page number", "page%5Bnumber%5D=-1"},
		{"unknown sort", "sort=owner"},
		{"bad created_at bound", "filter%5Bcreated_at%5D%5Bstart%5D=yesterday"},
		{"unsupported include", "include=roles"},
	}
	for _, tt := range badRequests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.raw(http.MethodGet, "/api/v2/current_user/application_keys?"+tt.query,
				map[string]string{"DD-API-KEY": f.apiKey, "DD-APPLICATION-KEY": ownerKey}, "")
			if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(string(body), `{"errors":["`) {
				t.Errorf("status %d body %s, want 400 with errors", resp.StatusCode, body)
			}
		})
	}
}

func TestApplicationKeyLimitPerOwner(t *testing.T) {
	f := newFixture(t, Options{MaxKeysPerUser: 2})
	f.mustCreateKey(f.robotKey, "second", nil) // the fixture's robot-key is the first

	tests := []struct {
		name string
		call func() (*http.Response, error)
	}{
		{"current user", func() (*http.Response, error) {
			_, resp, err := f.keys().CreateCurrentUserApplicationKey(f.as(f.robotKey), createKeyBody("third", nil))
			return resp, err
		}},
		{"service account", func() (*http.Response, error) {
			_, resp, err := f.serviceAccounts().CreateServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, createKeyBody("third", nil))
			return resp, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.call()
			if code := statusOf(t, resp, err); code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", code)
			}
			if errs := errorsOf(err); len(errs) != 1 || !strings.Contains(errs[0], "limit") {
				t.Errorf("errors %v, want a limit message", errs)
			}
		})
	}

	list, resp, err := f.keys().ListCurrentUserApplicationKeys(f.as(f.robotKey))
	if code := statusOf(t, resp, err); code != http.StatusOK || list.Meta.GetMaxAllowedPerUser() != 2 {
		t.Errorf("list: status %d, max_allowed_per_user %d, want 2", code, list.Meta.GetMaxAllowedPerUser())
	}
	// Freeing a slot makes room again: create-before-delete needs that.
	keys, _, _ := f.keys().ListCurrentUserApplicationKeys(f.as(f.robotKey))
	if resp, err := f.keys().DeleteCurrentUserApplicationKey(f.as(f.robotKey), keys.Data[1].GetId()); statusOf(t, resp, err) != http.StatusNoContent {
		t.Fatal("delete failed")
	}
	f.mustCreateKey(f.robotKey, "third", nil)
}
