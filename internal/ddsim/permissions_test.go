package ddsim

import (
	"context"
	"net/http"
	"testing"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// operation is one permission-guarded call and the permission it needs.
type operation struct {
	name string
	call func(f *fixture, ctx context.Context) (*http.Response, error)
}

// guardedOperations exercise one route per x-permission, plus the OPEN ones.
var guardedOperations = []operation{
	{"validate_keys (open)", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.keys().ValidateAPIKey(ctx)
		return resp, err
	}},
	{"current_user (open)", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.users().GetCurrentUser(ctx)
		return resp, err
	}},
	{"user_app_keys", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.keys().ListCurrentUserApplicationKeys(ctx)
		return resp, err
	}},
	{"service_account_write", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.serviceAccounts().ListServiceAccountApplicationKeys(ctx, f.robotID)
		return resp, err
	}},
	{"user_access_read", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.users().ListUsers(ctx)
		return resp, err
	}},
	{"user_access_read (permissions)", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.roles().ListPermissions(ctx)
		return resp, err
	}},
	{"api_keys_read", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, resp, err := f.keys().ListAPIKeys(ctx)
		return resp, err
	}},
	{"api_keys_write", func(f *fixture, ctx context.Context) (*http.Response, error) {
		body := datadogV2.APIKeyCreateRequest{Data: datadogV2.APIKeyCreateData{
			Type: datadogV2.APIKEYSTYPE_API_KEYS, Attributes: datadogV2.APIKeyCreateAttributes{Name: "probe-" + newID()},
		}}
		_, resp, err := f.keys().CreateAPIKey(ctx, body)
		return resp, err
	}},
	{"api_keys_delete", func(f *fixture, ctx context.Context) (*http.Response, error) {
		_, id := f.sim.AddAPIKey(f.orgID, "doomed-"+newID())
		return f.keys().DeleteAPIKey(ctx, id)
	}},
}

func TestPermissionsFollowScopesAndOwner(t *testing.T) {
	f := newFixture(t, Options{})
	noPerms := f.sim.AddUser(f.orgID, UserSpec{Name: "Nobody"})
	readOnly := f.sim.AddUser(f.orgID, UserSpec{Name: "Reader", Permissions: []string{"user_access_read"}})
	key := func(owner string, scopes []string) string {
		secret, _ := f.sim.AddAppKey(owner, "k-"+newID(), scopes)
		return secret
	}
	open := []string{"validate_keys (open)", "current_user (open)"}
	everything := make([]string, 0, len(guardedOperations))
	for _, op := range guardedOperations {
		everything = append(everything, op.name)
	}

	tests := []struct {
		name    string
		appKey  string
		allowed []string
	}{
		{"unscoped key has all of the owner's permissions", f.adminKey, everything},
		{"scoped key has only its scopes", key(f.adminID, []string{"user_app_keys", "api_keys_read"}),
			append([]string{"user_app_keys", "api_keys_read"}, open...)},
		{"scoped to service_account_write", key(f.robotID, []string{"service_account_write"}),
			append([]string{"service_account_write"}, open...)},
		{"unscoped key of an owner without permissions", key(noPerms, nil), open},
		{"scope beyond the owner's permissions grants nothing", key(readOnly, []string{"api_keys_read", "user_access_read"}),
			append([]string{"user_access_read", "user_access_read (permissions)"}, open...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range guardedOperations {
				want := http.StatusForbidden
				for _, a := range tt.allowed {
					if a == op.name {
						want = 0 // any success
					}
				}
				resp, err := op.call(f, f.as(tt.appKey))
				got := statusOf(t, resp, err)
				switch {
				case want == http.StatusForbidden && got != http.StatusForbidden:
					t.Errorf("%s: status %d, want 403", op.name, got)
				case want == 0 && got >= 300:
					t.Errorf("%s: status %d, want success (errors %v)", op.name, got, errorsOf(err))
				case got == http.StatusForbidden:
					if errs := errorsOf(err); len(errs) != 1 || errs[0] != "Forbidden" {
						t.Errorf("%s: errors %v, want [Forbidden]", op.name, errs)
					}
				}
			}
		})
	}
}
