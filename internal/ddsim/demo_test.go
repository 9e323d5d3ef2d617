package ddsim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

func TestDemoConstantsAreWellFormed(t *testing.T) {
	for name, id := range map[string]string{
		"DemoOrgID": DemoOrgID, "DemoAPIKeyID": DemoAPIKeyID, "DemoAppKeyID": DemoAppKeyID,
		"DemoAdminID": DemoAdminID, "DemoRotatorID": DemoRotatorID, "DemoMetricsWriterID": DemoMetricsWriterID,
		"DemoAdminRoleID": DemoAdminRoleID, "DemoServiceAccountRoleID": DemoServiceAccountRoleID,
	} {
		if !uuidFormat.MatchString(id) {
			t.Errorf("%s = %q is not a UUID", name, id)
		}
	}
	if !apiKeyFormat.MatchString(DemoAPIKey) || !appKeyFormat.MatchString(DemoAppKey) {
		t.Error("demo key secrets do not have Datadog's formats")
	}
}

func TestSeedDemo(t *testing.T) {
	sim, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := sim.SeedDemo(); err != nil {
			t.Fatalf("SeedDemo: %v", err)
		}
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client := newClient()
	ctx := clientContext(srv.URL, DemoAPIKey, DemoAppKey)

	keys := sim.Keys()
	if len(keys) != 1 || keys[0].ID != DemoAppKeyID || keys[0].OwnerID != DemoRotatorID || !slices.Equal(keys[0].Scopes, DemoAppKeyScopes()) {
		t.Fatalf("Keys() = %+v, want only the rotator's demo key", keys)
	}

	v2, resp, err := datadogV2.NewKeyManagementApi(client).Validate(ctx)
	if statusOf(t, resp, err) != http.StatusOK || v2.Data.Id != DemoOrgID || v2.Data.Attributes.ApiKeyId != DemoAPIKeyID {
		t.Errorf("validate: org %q API key id %q", v2.Data.Id, v2.Data.Attributes.ApiKeyId)
	}
	me, resp, err := datadogV2.NewUsersApi(client).GetCurrentUser(ctx)
	if statusOf(t, resp, err) != http.StatusOK || me.Data.GetId() != DemoRotatorID || !me.Data.Attributes.GetServiceAccount() {
		t.Errorf("current user %q (service account %v), want the rotator", me.Data.GetId(), me.Data.Attributes.GetServiceAccount())
	}

	users, resp, err := datadogV2.NewUsersApi(client).ListUsers(ctx)
	if statusOf(t, resp, err) != http.StatusOK {
		t.Fatalf("list users: %v", err)
	}
	got := map[string]bool{}
	for _, u := range users.Data {
		got[u.GetId()+"/"+u.Attributes.GetEmail()] = u.Attributes.GetServiceAccount()
	}
	want := map[string]bool{
		DemoAdminID + "/" + DemoAdminEmail:                  false,
		DemoRotatorID + "/ddconn-rotator@example.com":       true,
		DemoMetricsWriterID + "/metrics-writer@example.com": true,
	}
	if len(got) != len(want) {
		t.Errorf("users %v, want %v", got, want)
	}
	for k, sa := range want {
		if v, ok := got[k]; !ok || v != sa {
			t.Errorf("user %s: present %v, service_account %v", k, ok, v)
		}
	}

	sa := datadogV2.NewServiceAccountsApi(client)
	list, resp, err := sa.ListServiceAccountApplicationKeys(ctx, DemoMetricsWriterID)
	if statusOf(t, resp, err) != http.StatusOK || len(list.Data) != 0 {
		t.Errorf("metrics-writer keys: %d, want none", len(list.Data))
	}
	created, resp, err := sa.CreateServiceAccountApplicationKey(ctx, DemoMetricsWriterID, createKeyBody("mw-1", []string{"metrics_read"}))
	if statusOf(t, resp, err) != http.StatusCreated {
		t.Errorf("rotator creating a metrics-writer key: errors %v", errorsOf(err))
	}
	if _, resp, err := datadogV2.NewKeyManagementApi(client).ListAPIKeys(ctx); statusOf(t, resp, err) != http.StatusForbidden {
		t.Error("the demo key is scoped without api_keys_read, yet listed API keys")
	}

	if !slices.ContainsFunc(sim.Keys(), func(k KeyInfo) bool { return k.ID == created.Data.GetId() && k.OwnerID == DemoMetricsWriterID }) {
		t.Error("the new metrics-writer key is not listed by Keys")
	}

	t.Run("seeding again does not resurrect a rotated-away key", func(t *testing.T) {
		resp, err := datadogV2.NewKeyManagementApi(client).DeleteCurrentUserApplicationKey(ctx, DemoAppKeyID)
		if statusOf(t, resp, err) != http.StatusNoContent {
			t.Fatal("deleting the demo key failed")
		}
		if err := sim.SeedDemo(); err != nil {
			t.Fatal(err)
		}
		if sim.Authenticates(DemoAPIKey, DemoAppKey) {
			t.Error("SeedDemo brought back a deleted key")
		}
	})
}
