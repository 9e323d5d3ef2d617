package connection

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/site"
)

func TestCapabilitiesOf(t *testing.T) {
	tests := []struct {
		name        string
		lookup      keyLookup
		scopes      []string
		rotate, sas bool
		missing     []string
	}{
		{"unscoped key", lookupFound, nil, true, true, []string{}},
		{"every permission", lookupFound, []string{"user_app_keys", "service_account_write", "user_access_read"}, true, true, []string{}},
		{"own keys only", lookupFound, []string{"user_app_keys"}, true, false, []string{"service_account_write", "user_access_read"}},
		{"service accounts only", lookupFound, []string{"service_account_write", "user_access_read", "metrics_read"}, false, true, []string{"user_app_keys"}},
		{"half of service accounts", lookupFound, []string{"service_account_write"}, false, false, []string{"user_app_keys", "user_access_read"}},
		{"empty scope list", lookupFound, []string{}, false, false, []string{"user_app_keys", "service_account_write", "user_access_read"}},
		{"may not list keys", lookupForbidden, nil, false, false, []string{"user_app_keys"}},
		{"no match", lookupNone, nil, false, false, []string{}},
		{"several matches", lookupAmbiguous, []string{"user_app_keys"}, false, false, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := capabilitiesOf(tt.lookup, tt.scopes)
			if c.RotateOwnKey != tt.rotate || c.ManageServiceAccountKeys != tt.sas || !slices.Equal(c.MissingPermissions, tt.missing) || c.MissingPermissions == nil {
				t.Fatalf("capabilitiesOf = %+v, want rotate %v sas %v missing %v", c, tt.rotate, tt.sas, tt.missing)
			}
		})
	}
}

func TestFindKey(t *testing.T) {
	const owner = "owner-1"
	appKey := strings.Repeat("x", 36) + "ab12"
	mine := datadog.AppKey{ID: "k1", Last4: "ab12", OwnerID: owner}
	other := datadog.AppKey{ID: "k2", Last4: "zz99", OwnerID: owner}
	twin := datadog.AppKey{ID: "k3", Last4: "ab12", OwnerID: owner}
	foreign := datadog.AppKey{ID: "k4", Last4: "ab12", OwnerID: "someone-else"}
	tests := []struct {
		name    string
		keys    []datadog.AppKey
		listErr error
		want    keyLookup
		wantID  string
	}{
		{"one match", []datadog.AppKey{other, mine}, nil, lookupFound, "k1"},
		{"other owners ignored", []datadog.AppKey{mine, foreign}, nil, lookupFound, "k1"},
		{"no match", []datadog.AppKey{other}, nil, lookupNone, ""},
		{"no keys", nil, nil, lookupNone, ""},
		{"two matches are not guessed", []datadog.AppKey{mine, twin}, nil, lookupAmbiguous, ""},
		{"listing refused", nil, datadog.ErrUnauthorized, lookupForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, k := findKey(tt.keys, tt.listErr, owner, appKey)
			if got != tt.want || k.ID != tt.wantID {
				t.Fatalf("findKey = %s %q, want %s %q", got, k.ID, tt.want, tt.wantID)
			}
		})
	}
}

func TestProbeVerdict(t *testing.T) {
	unauthorized := fmt.Errorf("x: %w", datadog.ErrUnauthorized)
	down := fmt.Errorf("x: %w", datadog.ErrUnavailable)
	tests := []struct {
		name      string
		p         probe
		want      error
		wantField string
	}{
		{"all good", probe{lookup: lookupFound}, nil, ""},
		{"api key rejected", probe{apiKeyErr: unauthorized, keysErr: unauthorized, ownerErr: unauthorized}, ErrRejected, "credentials.apiKey"},
		{"api key rejected wins over an outage", probe{apiKeyErr: unauthorized, listErr: down}, ErrRejected, "credentials.apiKey"},
		{"app key rejected", probe{keysErr: unauthorized, ownerErr: unauthorized, listErr: unauthorized}, ErrRejected, "credentials.applicationKey"},
		{"api key check down", probe{apiKeyErr: down}, ErrDatadogUnavailable, ""},
		{"listing down", probe{listErr: down}, ErrDatadogUnavailable, ""},
		{"listing forbidden is not an error", probe{listErr: unauthorized, lookup: lookupForbidden}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.verdict()
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("verdict = %v, want %v", err, tt.want)
			}
			var ce *Error
			if tt.wantField != "" && (!errors.As(err, &ce) || len(ce.Details) != 1 || ce.Details[0].Field != tt.wantField) {
				t.Fatalf("verdict = %v, want details naming %s", err, tt.wantField)
			}
		})
	}
}

func TestValidationReport(t *testing.T) {
	unauthorized := fmt.Errorf("x: %w", datadog.ErrUnauthorized)
	cr := datadog.Credentials{Site: mustSite(t, "us5.datadoghq.com")}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		p     probe
		valid bool
		oks   []bool // url, apiKey, applicationKey, permissions
		json  string // a fragment of the JSON
	}{
		{"fully capable", probe{lookup: lookupFound, key: datadog.AppKey{Scopes: nil}}, true,
			[]bool{true, true, true, true}, `{"name":"permissions","ok":true,"missing":[]}`},
		{"missing permissions", probe{lookup: lookupFound, key: datadog.AppKey{Scopes: []string{"user_app_keys"}}}, false,
			[]bool{true, true, true, false}, `"missing":["service_account_write","user_access_read"]`},
		{"api key rejected", probe{apiKeyErr: unauthorized, keysErr: unauthorized, ownerErr: unauthorized}, false,
			[]bool{true, false, false, false}, `{"name":"apiKey","ok":false,"message":"Datadog rejected the API key"}`},
		{"app key rejected", probe{keysErr: unauthorized, ownerErr: unauthorized}, false,
			[]bool{true, true, false, false}, `"name":"applicationKey","ok":false`},
		{"key not identified", probe{lookup: lookupAmbiguous}, false,
			[]bool{true, true, true, false}, `several of the owner's application keys`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.p.validation(cr, at)
			var oks []bool
			for _, c := range v.Checks {
				oks = append(oks, c.OK)
			}
			if v.Valid != tt.valid || !slices.Equal(oks, tt.oks) || !v.CheckedAt.Equal(at) {
				t.Fatalf("validation = %+v, want valid %v checks %v", v, tt.valid, tt.oks)
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.json) {
				t.Fatalf("JSON %s lacks %s", b, tt.json)
			}
			if strings.Count(string(b), `"missing"`) != 1 {
				t.Fatalf("only the permissions check has missing: %s", b)
			}
		})
	}
}

func mustSite(t *testing.T, raw string) site.Site {
	t.Helper()
	s, err := site.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
