package ddsim

import "time"

// The demo organisation seeded by SeedDemo for `make dev`. Every value is
// fixed so documentation can list them.
const (
	// DemoSite is the demo org's Datadog site (US1).
	DemoSite = "datadoghq.com"
	// DemoOrgID is the demo organisation's id.
	DemoOrgID = "00000000-0000-4000-8000-000000000001"
	// DemoOrgName is the demo organisation's name.
	DemoOrgName = "ddconn demo"

	// DemoAPIKey is the demo org's API key secret.
	DemoAPIKey = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
	// DemoAPIKeyID is the id of DemoAPIKey.
	DemoAPIKeyID = "00000000-0000-4000-8000-0000000000d0"
	// DemoAPIKeyName is the name of DemoAPIKey.
	DemoAPIKeyName = "ddconn-demo"

	// DemoAdminID is the human admin user, with every catalogue permission.
	DemoAdminID = "00000000-0000-4000-8000-0000000000ad"
	// DemoAdminEmail is the admin's email (and handle).
	DemoAdminEmail = "admin@example.com"

	// DemoRotatorID is the service account "ddconn-rotator".
	DemoRotatorID = "00000000-0000-4000-8000-0000000000a1"
	// DemoMetricsWriterID is the service account "metrics-writer", seeded
	// without application keys.
	DemoMetricsWriterID = "00000000-0000-4000-8000-0000000000b2"

	// DemoAppKey is the rotator's application key secret, scoped to
	// DemoAppKeyScopes.
	DemoAppKey = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	// DemoAppKeyID is the id of DemoAppKey.
	DemoAppKeyID = "00000000-0000-4000-8000-0000000001a1"
	// DemoAppKeyName is the name of DemoAppKey.
	DemoAppKeyName = "ddconn-rotator-initial"

	// DemoAdminRoleID is the admin's role ("Datadog Admin Role").
	DemoAdminRoleID = "00000000-0000-4000-8000-000000000e01"
	// DemoServiceAccountRoleID is the role both service accounts hold.
	DemoServiceAccountRoleID = "00000000-0000-4000-8000-000000000e02"
)

// DemoAppKeyScopes are the scopes of DemoAppKey.
func DemoAppKeyScopes() []string {
	return []string{"user_app_keys", "service_account_write", "user_access_read", "user_access_manage"}
}

// DemoServiceAccountPermissions are the permissions of the service accounts'
// role: the rotator key's scopes plus API key management and metrics_read.
func DemoServiceAccountPermissions() []string {
	return append(DemoAppKeyScopes(), "api_keys_read", "api_keys_write", "api_keys_delete", "metrics_read")
}

// SeedDemo adds the demo organisation (see the Demo* constants). It is
// idempotent: when the demo org already exists, for example loaded from
// DataFile, nothing changes, so a key rotated away is not brought back. It
// returns the error of saving DataFile, if any.
func (s *Simulator) SeedDemo() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Orgs[DemoOrgID] != nil {
		return nil
	}
	now := s.now().UTC()
	s.st.Orgs[DemoOrgID] = &org{ID: DemoOrgID, Name: DemoOrgName, CreatedAt: now}
	s.st.Roles[DemoAdminRoleID] = &role{ID: DemoAdminRoleID, OrgID: DemoOrgID, Name: "Datadog Admin Role", Permissions: allPermissionNames(), CreatedAt: now}
	s.st.Roles[DemoServiceAccountRoleID] = &role{ID: DemoServiceAccountRoleID, OrgID: DemoOrgID, Name: "ddconn Service Account Role", Permissions: DemoServiceAccountPermissions(), CreatedAt: now}
	s.seedDemoUser(DemoAdminID, "Demo Admin", DemoAdminEmail, false, DemoAdminRoleID, now)
	s.seedDemoUser(DemoRotatorID, "ddconn-rotator", "ddconn-rotator@example.com", true, DemoServiceAccountRoleID, now)
	s.seedDemoUser(DemoMetricsWriterID, "metrics-writer", "metrics-writer@example.com", true, DemoServiceAccountRoleID, now)
	s.st.APIKeys[DemoAPIKeyID] = &apiKey{
		ID: DemoAPIKeyID, OrgID: DemoOrgID, Name: DemoAPIKeyName, Secret: DemoAPIKey,
		Category: "default", CreatedBy: DemoAdminID, CreatedAt: now, ModifiedAt: now, ActiveAt: now,
	}
	s.st.AppKeys[DemoAppKeyID] = &appKey{
		ID: DemoAppKeyID, OwnerID: DemoRotatorID, Name: DemoAppKeyName, Secret: DemoAppKey,
		Scopes: DemoAppKeyScopes(), CreatedAt: now, ActiveAt: now,
	}
	return s.persistLocked()
}

func (s *Simulator) seedDemoUser(id, name, email string, serviceAccount bool, roleID string, now time.Time) {
	s.st.Users[id] = &user{
		ID: id, OrgID: DemoOrgID, Name: name, Email: email, ServiceAccount: serviceAccount,
		RoleIDs: []string{roleID}, CreatedAt: now, ModifiedAt: now,
	}
}
