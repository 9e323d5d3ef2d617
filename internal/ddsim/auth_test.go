package ddsim

import (
	"net/http"
	"testing"
)

// TestRawHeaderNamesAreCaseInsensitive sends the credentials with header
// names spelled in several ways, as other clients do.
func TestRawHeaderNamesAreCaseInsensitive(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name           string
		apiHdr, appHdr string
		want           int
	}{
		{"documented spelling", "DD-API-KEY", "DD-APPLICATION-KEY", http.StatusOK},
		{"lower case", "dd-api-key", "dd-application-key", http.StatusOK},
		{"Go canonical", "Dd-Api-Key", "Dd-Application-Key", http.StatusOK},
		{"query parameters are not credentials here", "X-Unrelated", "X-Other", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.raw(http.MethodGet, "/api/v2/validate_keys?api_key="+f.apiKey+"&application_key="+f.adminKey,
				map[string]string{tt.apiHdr: f.apiKey, tt.appHdr: f.adminKey}, "")
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			want := `{"status":"ok"}`
			if tt.want == http.StatusForbidden {
				want = `{"errors":["Forbidden"]}`
			}
			if string(body) != want {
				t.Errorf("body %s, want %s", body, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}
}

// TestCredentialsThatMustNotAuthenticate covers keys that exist but must be
// refused, through the Go client and through Authenticates.
func TestCredentialsThatMustNotAuthenticate(t *testing.T) {
	f := newFixture(t, Options{})
	otherOrg := f.sim.CreateOrg("Other")
	otherAPIKey, _ := f.sim.AddAPIKey(otherOrg, "other-main")
	otherUser := f.sim.AddUser(otherOrg, UserSpec{Name: "Olga", Permissions: allPermissionNames()})
	otherAppKey, _ := f.sim.AddAppKey(otherUser, "olga-key", nil)
	disabledUser := f.sim.AddUser(f.orgID, UserSpec{Name: "Dave", Disabled: true, Permissions: allPermissionNames()})
	disabledKey, _ := f.sim.AddAppKey(disabledUser, "dave-key", nil)

	tests := []struct {
		name           string
		apiKey, appKey string
		want           int
	}{
		{"baseline: own org", f.apiKey, f.adminKey, http.StatusOK},
		{"baseline: other org with its own keys", otherAPIKey, otherAppKey, http.StatusOK},
		{"app key from another org", f.apiKey, otherAppKey, http.StatusForbidden},
		{"api key from another org", otherAPIKey, f.adminKey, http.StatusForbidden},
		{"owner disabled", f.apiKey, disabledKey, http.StatusForbidden},
		{"missing app key", f.apiKey, "", http.StatusForbidden},
		{"missing api key", "", f.adminKey, http.StatusForbidden},
		{"app key given as api key", f.adminKey, f.adminKey, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := f.users().GetCurrentUser(f.ctx(tt.apiKey, tt.appKey))
			if got := statusOf(t, resp, err); got != tt.want {
				t.Errorf("current_user: status %d, want %d", got, tt.want)
			}
			if got := f.sim.Authenticates(tt.apiKey, tt.appKey); got != (tt.want == http.StatusOK) {
				t.Errorf("Authenticates = %v, want %v", got, tt.want == http.StatusOK)
			}
		})
	}

	t.Run("re-enabled owner authenticates again", func(t *testing.T) {
		if !f.sim.SetUserDisabled(disabledUser, false) {
			t.Fatal("SetUserDisabled: user not found")
		}
		if !f.sim.Authenticates(f.apiKey, disabledKey) {
			t.Error("key of re-enabled user does not authenticate")
		}
	})
}

// TestDeletedKeysStopAuthenticatingAtOnce deletes each kind of key and uses
// it again in the very next request.
func TestDeletedKeysStopAuthenticatingAtOnce(t *testing.T) {
	f := newFixture(t, Options{})

	t.Run("application key deleting itself", func(t *testing.T) {
		secret, id := f.mustCreateKey(f.adminKey, "short-lived", nil)
		resp, err := f.keys().DeleteCurrentUserApplicationKey(f.as(secret), id)
		if got := statusOf(t, resp, err); got != http.StatusNoContent {
			t.Fatalf("delete: status %d", got)
		}
		_, resp, err = f.keys().ValidateAPIKey(f.as(secret))
		if got := statusOf(t, resp, err); got != http.StatusForbidden {
			t.Errorf("deleted key: status %d, want 403", got)
		}
		if f.sim.Authenticates(f.apiKey, secret) {
			t.Error("Authenticates accepts a deleted key")
		}
	})

	t.Run("api key", func(t *testing.T) {
		extra, id := f.sim.AddAPIKey(f.orgID, "extra")
		resp, err := f.keys().DeleteAPIKey(f.as(f.adminKey), id)
		if got := statusOf(t, resp, err); got != http.StatusNoContent {
			t.Fatalf("delete: status %d", got)
		}
		_, resp, err = f.auth().Validate(f.ctx(extra, ""))
		if got := statusOf(t, resp, err); got != http.StatusForbidden {
			t.Errorf("deleted API key on v1 validate: status %d, want 403", got)
		}
	})
}
