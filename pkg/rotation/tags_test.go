package rotation

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestRetirementTagsRoundTrip(t *testing.T) {
	due := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	in := []Retirement{
		{KeyID: ""},
		{KeyID: "11111111-1111-4111-8111-111111111111", Due: due},
		{KeyID: "22222222-2222-4222-8222-222222222222"},
	}
	tags := map[string]string{"ddconn:site": "US1", TagRetirePrefix: "ignored: no id"}
	for _, r := range in {
		k, v := r.tag()
		if len(k) > 127 || len(v) > 255 {
			t.Fatalf("tag %q=%q exceeds Secrets Manager's limits", k, v)
		}
		tags[k] = v
	}
	got := Retirements(tags)
	want := []Retirement{in[1], in[2], in[0]} // sorted by tag key; "unidentified" sorts last
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Retirements = %+v, want %+v", got, want)
	}
}

func TestUnreadableDueDateCountsAsDue(t *testing.T) {
	got := Retirements(map[string]string{TagRetirePrefix + "k1": "tomorrow"})
	if len(got) != 1 || got[0].Due.IsZero() || !got[0].Due.Before(time.Now()) {
		t.Fatalf("want a due retirement, got %+v", got)
	}
}

func TestRetirementReady(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	snap := Snapshot{
		Secret: secretstore.Secret{Versions: map[string][]string{
			"v3": {secretstore.Current}, "v2": {secretstore.Previous}, "v4": {secretstore.Pending},
		}},
		Docs: map[string]connection.Document{
			"v3": {ApplicationKeyID: "current"},
			"v2": {ApplicationKeyID: "previous"},
			"v4": {ApplicationKeyID: "pending"},
		},
	}
	tests := []struct {
		name string
		r    Retirement
		want bool
	}{
		{"next-rotation waits while AWSPREVIOUS holds the key", Retirement{KeyID: "previous"}, false},
		{"next-rotation revokes an unreferenced key", Retirement{KeyID: "old"}, true},
		{"due key held by AWSPREVIOUS", Retirement{KeyID: "previous", Due: now}, true},
		{"grace period not over", Retirement{KeyID: "previous", Due: now.Add(time.Second)}, false},
		{"never while AWSCURRENT", Retirement{KeyID: "current", Due: now.Add(-time.Hour)}, false},
		{"never while AWSPENDING", Retirement{KeyID: "pending", Due: now.Add(-time.Hour)}, false},
		{"unidentified and unreferenced", Retirement{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.ready(now, snap); got != tt.want {
				t.Errorf("ready = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSnapshotRetiring(t *testing.T) {
	snap := Snapshot{Secret: secretstore.Secret{Tags: map[string]string{
		TagRetirePrefix + "grace": "2026-03-02T10:00:00Z",
		TagRetirePrefix + "next":  untilUnreferenced,
	}}}
	for id, want := range map[string]bool{"grace": true, "next": true, "other": false} {
		if got := snap.Retiring(id); got != want {
			t.Errorf("Retiring(%s) = %v, want %v", id, got, want)
		}
	}
}

func TestTagValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{`failed: "quoted" (x), y; z`, "failed: quoted x y z"},
		{"multi\nline\ttext", "multi line text"},
		{"keep _.:/=+-@ chars", "keep _.:/=+-@ chars"},
	}
	for _, tt := range tests {
		if got := tagValue(tt.in); got != tt.want {
			t.Errorf("tagValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := tagValue(strings.Repeat("a", 300)); len(got) != 256 {
		t.Errorf("want 256 bytes, got %d", len(got))
	}
}

func TestNames(t *testing.T) {
	if got := KeyName("prod", "tok-1"); got != "ddconn:prod:tok-1" {
		t.Errorf("KeyName = %q", got)
	}
	if strings.HasPrefix(KeyName("prod-eu", "t"), KeyNamePrefix("prod")) {
		t.Error("the prefix of prod matches keys of prod-eu")
	}
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"ddconn/connections/prod", "prod", true},
		{"ddconn/connections/", "", false},
		{"other/prod", "", false},
		{"ddconn/connections/keys", "keys", true}, // a connection named "keys"
		{"ddconn/connections/keys/prod/checkout", "", false},
		{"ddconn/connections/api-keys/prod/agent", "", false},
	}
	for _, tt := range tests {
		got, ok := ConnectionName("ddconn/connections/", tt.name)
		if got != tt.want && tt.wantOK || ok != tt.wantOK {
			t.Errorf("ConnectionName(%q) = %q, %v", tt.name, got, ok)
		}
	}
}

func TestKeyNamesOf(t *testing.T) {
	const p = "ddconn/connections/"
	tests := []struct {
		secret string
		want   KeyNames
		wantOK bool
	}{
		{p + "prod", KeyNames{Prefix: "ddconn:prod:"}, true},
		{p + "keys/prod/checkout", KeyNames{Prefix: "ddconn-managed:keys/prod/checkout:"}, true},
		{p + "api-keys/prod/agent", KeyNames{Prefix: "ddconn-managed:api-keys/prod/agent:", APIKeys: true}, true},
		{p + "keys/prod", KeyNames{}, false},
		{p + "keys/prod/checkout/x", KeyNames{}, false},
		{p + "keys/Prod/checkout", KeyNames{}, false},
		{"other/prod", KeyNames{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			got, ok := KeyNamesOf(p, tt.secret)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("KeyNamesOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
