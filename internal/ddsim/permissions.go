package ddsim

import (
	"slices"
	"time"
)

// permissionInfo is one entry of the simulator's permission catalogue. The
// names are real Datadog permission names; descriptions are shortened.
type permissionInfo struct {
	name, displayName, description, group, displayType string
}

// permissionCatalogue lists the permissions the simulator knows. Scopes of new
// application keys must be names from this list (Datadog rejects unknown
// scopes with 400 "Invalid scopes"). It covers what ddconn needs plus a few
// common ones so scope lists look realistic; it is not Datadog's full list.
var permissionCatalogue = []permissionInfo{
	{"api_keys_read", "API Keys Read", "List and retrieve the key values of all API Keys in your organization.", "API and Application Keys", "read"},
	{"api_keys_write", "API Keys Write", "Create and rename API Keys for your organization.", "API and Application Keys", "write"},
	{"api_keys_delete", "API Keys Delete", "Delete API Keys for your organization.", "API and Application Keys", "write"},
	{"user_app_keys", "Service Account and User Application Keys", "View, create, rename and revoke your own application keys.", "API and Application Keys", "write"},
	{"org_app_keys_read", "Org Application Keys Read", "View application keys owned by all users in the organization.", "API and Application Keys", "read"},
	{"org_app_keys_write", "Org Application Keys Write", "Manage application keys owned by all users in the organization.", "API and Application Keys", "write"},
	{"user_access_read", "User Access Read", "View users and their roles and settings.", "Access Management", "read"},
	{"user_access_manage", "User Access Manage", "Disable users, manage user roles and SAML-to-role mappings.", "Access Management", "write"},
	{"user_access_invite", "User Access Invite", "Invite other users to your organization.", "Access Management", "write"},
	{"service_account_write", "Service Account Write", "Create, disable, and use service accounts in your organization.", "Access Management", "write"},
	{"user_self_profile_write", "User Self Profile Write", "Edit your own profile.", "Access Management", "write"},
	{"org_management", "Org Management", "Edit org configurations, including authentication and security preferences.", "Access Management", "write"},
	{"usage_read", "Usage Read", "View your organization's usage and usage attribution.", "Billing and Usage", "read"},
	{"billing_read", "Billing Read", "View your organization's billing information.", "Billing and Usage", "read"},
	{"dashboards_read", "Dashboards Read", "View dashboards.", "Dashboards", "read"},
	{"dashboards_write", "Dashboards Write", "Create and change dashboards.", "Dashboards", "write"},
	{"dashboards_public_share", "Dashboards Public Share", "Generate public and authenticated links to share dashboards externally.", "Dashboards", "write"},
	{"monitors_read", "Monitors Read", "View monitors.", "Monitors", "read"},
	{"monitors_write", "Monitors Write", "Edit, delete, and resolve individual monitors.", "Monitors", "write"},
	{"monitors_downtime", "Manage Downtimes", "Set downtimes to suppress alerts from any monitor.", "Monitors", "write"},
	{"metrics_read", "Metrics Read", "View custom metrics.", "Metrics", "read"},
	{"metric_tags_write", "Metric Tags Write", "Edit and save tag configurations for custom metrics.", "Metrics", "write"},
	{"timeseries_query", "Timeseries Query", "Query timeseries data.", "Metrics", "read"},
	{"events_read", "Events Read", "Read events data.", "Events", "read"},
	{"hosts_read", "Hosts Read", "List hosts and their attributes.", "Infrastructure", "read"},
	{"logs_read_data", "Logs Read Data", "Read log data.", "Log Management", "read"},
	{"logs_read_index_data", "Logs Read Index Data", "Read indexed log data.", "Log Management", "read"},
	{"logs_modify_indexes", "Logs Modify Indexes", "Modify log indexes.", "Log Management", "write"},
	{"apm_read", "APM Read", "Read and query APM and Trace Analytics.", "APM", "read"},
	{"synthetics_read", "Synthetics Read", "List and view Synthetic tests and results.", "Synthetic Monitoring", "read"},
	{"synthetics_write", "Synthetics Write", "Create, edit, and delete Synthetic tests.", "Synthetic Monitoring", "write"},
	{"incident_read", "Incidents Read", "View incidents.", "Case and Incident Management", "read"},
	{"incident_write", "Incidents Write", "Create, view, and manage incidents.", "Case and Incident Management", "write"},
}

// permissionsCreated is the fixed creation time reported for catalogue entries.
var permissionsCreated = time.Date(2018, 10, 19, 15, 35, 23, 0, time.UTC)

func knownPermission(name string) bool {
	return slices.ContainsFunc(permissionCatalogue, func(p permissionInfo) bool { return p.name == name })
}

// allPermissionNames returns every catalogue name, for admin roles.
func allPermissionNames() []string {
	names := make([]string, len(permissionCatalogue))
	for i, p := range permissionCatalogue {
		names[i] = p.name
	}
	return names
}
