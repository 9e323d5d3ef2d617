package ddsim

import (
	"net/http"
	"testing"
)

func TestValidateEndpoints(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name           string
		apiKey, appKey string
		wantV1, wantV2 int
		wantKeys       int
	}{
		{"both keys valid", f.apiKey, f.adminKey, 200, 200, 200},
		{"validate endpoints ignore the app key", f.apiKey, "", 200, 200, 403},
		{"bad app key", f.apiKey, "0000000000000000000000000000000000000000", 200, 200, 403},
		{"bad api key", "ffffffffffffffffffffffffffffffff", f.adminKey, 403, 403, 403},
		{"no keys", "", "", 403, 403, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := f.ctx(tt.apiKey, tt.appKey)
			v1, resp, err := f.auth().Validate(ctx)
			if got := statusOf(t, resp, err); got != tt.wantV1 {
				t.Errorf("v1 validate: status %d, want %d", got, tt.wantV1)
			}
			if tt.wantV1 == 200 && !v1.GetValid() {
				t.Errorf("v1 validate: valid = false")
			}
			v2, resp, err := f.keys().Validate(ctx)
			if got := statusOf(t, resp, err); got != tt.wantV2 {
				t.Errorf("v2 validate: status %d, want %d", got, tt.wantV2)
			}
			if tt.wantV2 == 200 {
				if v2.Data.Id != f.orgID || v2.Data.Attributes.ApiKeyId != f.apiKeyID {
					t.Errorf("v2 validate: org %q key %q, want %q %q", v2.Data.Id, v2.Data.Attributes.ApiKeyId, f.orgID, f.apiKeyID)
				}
			}
			_, resp, err = f.keys().ValidateAPIKey(ctx)
			if got := statusOf(t, resp, err); got != tt.wantKeys {
				t.Errorf("validate_keys: status %d, want %d", got, tt.wantKeys)
			}
			if tt.wantKeys == http.StatusForbidden {
				if errs := errorsOf(err); len(errs) != 1 || errs[0] != "Forbidden" {
					t.Errorf("validate_keys errors = %v, want [Forbidden]", errs)
				}
			}
		})
	}
}
