package managedsecret

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const prefix = "ddconn/connections/"

func TestParseName(t *testing.T) {
	tests := []struct {
		secret string
		want   Name
		wantOK bool
	}{
		{prefix + "keys/prod/checkout", Name{AppKey, "prod", "checkout"}, true},
		{prefix + "api-keys/prod/agent-us5", Name{APIKey, "prod", "agent-us5"}, true},
		{prefix + "prod", Name{}, false},
		{prefix + "keys", Name{}, false},
		{prefix + "keys/prod", Name{}, false},
		{prefix + "keys/prod/a/b", Name{}, false},
		{prefix + "tokens/prod/a", Name{}, false},
		{prefix + "keys/Prod/a", Name{}, false},
		{prefix + "keys/prod/-a", Name{}, false},
		{"other/keys/prod/a", Name{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			got, ok := ParseName(prefix, tt.secret)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ParseName = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
			if ok && got.SecretName(prefix) != tt.secret {
				t.Fatalf("SecretName = %q, want %q", got.SecretName(prefix), tt.secret)
			}
		})
	}
}

func TestDatadogKeyNames(t *testing.T) {
	n := Name{AppKey, "prod", "a"}
	if got := n.DatadogKeyName("tok"); got != "ddconn-managed:keys/prod/a:tok" {
		t.Errorf("DatadogKeyName = %q", got)
	}
	if strings.HasPrefix(Name{AppKey, "prod", "a-b"}.DatadogKeyName("t"), n.DatadogKeyNamePrefix()) {
		t.Error("the prefix of key a matches keys of a-b")
	}
	if strings.HasPrefix(n.DatadogKeyName("t"), "ddconn:") {
		t.Error("a managed key's name looks like a connection's key")
	}
	if !strings.HasPrefix(n.SecretName(prefix), Prefix(prefix, AppKey, "prod")) {
		t.Error("Prefix does not cover the connection's managed keys")
	}
}

func TestAppKeyDocument(t *testing.T) {
	raw, err := os.ReadFile("testdata/app_key_document.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseAppKeyDocument(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if d.ServiceAccountID == "" || !slices.Equal(d.Scopes, []string{"metrics_read"}) || d.APIKey == "" {
		t.Fatalf("parsed %v", d)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParseAppKeyDocument(out); err != nil || back.ApplicationKey != d.ApplicationKey || back.APIKey != d.APIKey {
		t.Fatalf("round trip lost the keys (err %v)", err)
	}
	noAPIKey := d
	noAPIKey.APIKey = ""
	if out, _ := noAPIKey.Marshal(); strings.Contains(out, "apiKey") {
		t.Error("a document without includeApiKey still has an apiKey field")
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "doc", d)
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v %#v %q", d, d, d), buf.String()} {
		if strings.Contains(s, d.ApplicationKey) || strings.Contains(s, d.APIKey) {
			t.Fatal("formatting the document leaks a key")
		}
	}

	for _, bad := range []string{"", "{}", `{"url":"x","applicationKey":"k","applicationKeyId":"i"}`, "not json " + d.ApplicationKey} {
		_, err := ParseAppKeyDocument(bad)
		if err == nil || strings.Contains(err.Error(), d.ApplicationKey) {
			t.Errorf("ParseAppKeyDocument(bad) = %v", err)
		}
	}
}

func TestMintTags(t *testing.T) {
	started := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	mints := []Mint{
		{Name: Name{Kind: AppKey, Connection: "prod", Key: "checkout"}, Started: started, ServiceAccountID: "00000000-0000-4000-8000-0000000000b2"},
		{Name: Name{Kind: APIKey, Connection: "prod", Key: "agent"}, Started: started},
	}
	tags := map[string]string{"ddconn:site": "US1", "ddconn:mint:nope/x": "2026-11-25T10:00:00Z", "ddconn:mint:keys/bad": "yesterday"}
	for _, m := range mints {
		k, v := m.Tag()
		if len(k) > 128 || len(v) > 256 {
			t.Fatalf("tag %q=%q is over AWS's lengths", k, v)
		}
		tags[k] = v
	}
	got := Mints("prod", tags)
	slices.SortFunc(got, func(a, b Mint) int { return strings.Compare(string(b.Name.Kind), string(a.Name.Kind)) })
	if len(got) != 2 || got[0] != mints[0] || got[1] != mints[1] {
		t.Fatalf("Mints() = %+v, want %+v", got, mints)
	}
}
