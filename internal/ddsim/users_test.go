package ddsim

import (
	"net/http"
	"slices"
	"testing"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

func TestCurrentUserIsTheAppKeyOwner(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name               string
		appKey             string
		wantID, wantEmail  string
		wantServiceAccount bool
	}{
		{"human user", f.adminKey, f.adminID, "ada@acme.example", false},
		{"service account", f.robotKey, f.robotID, "robot@acme.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			me, resp, err := f.users().GetCurrentUser(f.as(tt.appKey))
			if code := statusOf(t, resp, err); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			attrs := me.Data.GetAttributes()
			if me.Data.GetId() != tt.wantID || attrs.GetEmail() != tt.wantEmail || attrs.GetServiceAccount() != tt.wantServiceAccount {
				t.Errorf("got id %q email %q service_account %v", me.Data.GetId(), attrs.GetEmail(), attrs.GetServiceAccount())
			}
			if attrs.GetStatus() != "Active" || attrs.GetCreatedAt().IsZero() {
				t.Errorf("status %q created_at %v", attrs.GetStatus(), attrs.GetCreatedAt())
			}
			rel := me.Data.GetRelationships()
			if rel.Org.Data.Id != f.orgID || len(rel.Roles.Data) != 1 {
				t.Errorf("relationships: org %q, %d roles", rel.Org.Data.Id, len(rel.Roles.Data))
			}
			var kinds []string
			for _, inc := range me.Included {
				switch {
				case inc.Organization != nil:
					kinds = append(kinds, "org")
				case inc.Role != nil:
					kinds = append(kinds, "role")
				}
			}
			if !slices.Equal(kinds, []string{"org", "role"}) {
				t.Errorf("included %v, want [org role]", kinds)
			}
		})
	}
}

func TestListUsers(t *testing.T) {
	f := newFixture(t, Options{}) // Ada Admin and robot
	f.sim.AddUser(f.orgID, UserSpec{Name: "Zoe", Email: "zoe@acme.example", Disabled: true})
	f.sim.AddUser(f.orgID, UserSpec{Name: "billing-bot", ServiceAccount: true})
	other := f.sim.CreateOrg("Other")
	f.sim.AddUser(other, UserSpec{Name: "Outsider"})
	params := datadogV2.NewListUsersOptionalParameters

	tests := []struct {
		name         string
		params       *datadogV2.ListUsersOptionalParameters
		wantNames    []string
		wantFiltered int64
	}{
		{"own org only, sorted by name", params(), []string{"Ada Admin", "Zoe", "billing-bot", "robot"}, 4},
		{"descending with '-'", params().WithSort("-name"), []string{"robot", "billing-bot", "Zoe", "Ada Admin"}, 4},
		{"sort_dir decides the direction", params().WithSort("-name").WithSortDir(datadogV2.QUERYSORTORDER_ASC), []string{"Ada Admin", "Zoe", "billing-bot", "robot"}, 4},
		{"paged", params().WithPageSize(3).WithPageNumber(1), []string{"robot"}, 4},
		{"filter matches name or email", params().WithFilter("BOT"), []string{"billing-bot", "robot"}, 2},
		{"filter by email domain", params().WithFilter("acme.example"), []string{"Ada Admin", "Zoe", "robot"}, 3},
		{"status filter", params().WithFilterStatus("Disabled"), []string{"Zoe"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, resp, err := f.users().ListUsers(f.as(f.adminKey), *tt.params)
			if code := statusOf(t, resp, err); code != http.StatusOK {
				t.Fatalf("status %d, errors %v", code, errorsOf(err))
			}
			names := []string{}
			for _, u := range list.Data {
				names = append(names, u.Attributes.GetName())
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("names %v, want %v", names, tt.wantNames)
			}
			page := list.Meta.GetPage()
			if page.GetTotalCount() != 4 || page.GetTotalFilteredCount() != tt.wantFiltered {
				t.Errorf("total_count %d total_filtered_count %d, want 4 and %d", page.GetTotalCount(), page.GetTotalFilteredCount(), tt.wantFiltered)
			}
		})
	}

	t.Run("service_account attribute tells accounts apart", func(t *testing.T) {
		var accounts []string
		items, cancel := f.users().ListUsersWithPagination(f.as(f.adminKey), *params().WithPageSize(1))
		defer cancel()
		for item := range items {
			if item.Error != nil {
				t.Fatalf("paging: %v", item.Error)
			}
			if item.Item.Attributes.GetServiceAccount() {
				accounts = append(accounts, item.Item.Attributes.GetName())
			}
		}
		slices.Sort(accounts)
		if !slices.Equal(accounts, []string{"billing-bot", "robot"}) {
			t.Errorf("service accounts %v", accounts)
		}
	})

	t.Run("bad parameters are 400s", func(t *testing.T) {
		for _, query := range []string{"page%5Bsize%5D=101", "sort=height", "sort_dir=up", "filter%5Bstatus%5D=Gone"} {
			resp, _ := f.raw(http.MethodGet, "/api/v2/users?"+query, map[string]string{"DD-API-KEY": f.apiKey, "DD-APPLICATION-KEY": f.adminKey}, "")
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", query, resp.StatusCode)
			}
		}
	})
}

func TestListPermissions(t *testing.T) {
	f := newFixture(t, Options{})
	list, resp, err := f.roles().ListPermissions(f.as(f.robotKey), *datadogV2.NewListPermissionsOptionalParameters().WithIncludeScopes(true))
	if code := statusOf(t, resp, err); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	names := map[string]string{}
	for _, p := range list.Data {
		names[p.Attributes.GetName()] = p.GetId()
	}
	for _, want := range []string{"user_app_keys", "service_account_write", "api_keys_delete", "org_app_keys_write"} {
		if !uuidFormat.MatchString(names[want]) {
			t.Errorf("permission %s missing or without a UUID id (%q)", want, names[want])
		}
	}
}
