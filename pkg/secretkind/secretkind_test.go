package secretkind

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
)

const prefix = "ddconn/connections/"

func TestParseName(t *testing.T) {
	tests := []struct {
		secret string
		want   Name
		wantOK bool
	}{
		{prefix + "prod", Name{Kind: Connection, Connection: "prod"}, true},
		{prefix + "keys", Name{Kind: Connection, Connection: "keys"}, true}, // a connection named "keys"
		{prefix + "keys/prod/checkout", Name{AppKey, "prod", "checkout"}, true},
		{prefix + "api-keys/prod/agent-us5", Name{APIKey, "prod", "agent-us5"}, true},
		{prefix, Name{}, false},
		{prefix + "Prod", Name{}, false},
		{prefix + "keys/prod", Name{}, false},
		{prefix + "keys/prod/a/b", Name{}, false},
		{prefix + "tokens/prod/a", Name{}, false},
		{prefix + "keys/Prod/a", Name{}, false},
		{prefix + "keys/prod/-a", Name{}, false},
		{"other/keys/prod/a", Name{}, false},
		{"other/prod", Name{}, false},
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
	tests := []struct {
		name Name
		want string
	}{
		{ConnectionName("prod"), "ddconn:prod:tok"},
		{Name{AppKey, "prod", "a"}, "ddconn-managed:keys/prod/a:tok"},
		{Name{APIKey, "prod", "a"}, "ddconn-managed:api-keys/prod/a:tok"},
	}
	for _, tt := range tests {
		if got := tt.name.DatadogKeyName("tok"); got != tt.want {
			t.Errorf("DatadogKeyName(%v) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if strings.HasPrefix(ConnectionName("prod-eu").DatadogKeyName("t"), ConnectionName("prod").DatadogKeyNamePrefix()) {
		t.Error("the prefix of prod matches keys of prod-eu")
	}
	n := Name{AppKey, "prod", "a"}
	if strings.HasPrefix(Name{AppKey, "prod", "a-b"}.DatadogKeyName("t"), n.DatadogKeyNamePrefix()) {
		t.Error("the prefix of key a matches keys of a-b")
	}
	if strings.HasPrefix(n.DatadogKeyName("t"), ConnectionName("prod").DatadogKeyNamePrefix()) {
		t.Error("a managed key's name looks like a connection's key")
	}
	if !strings.HasPrefix(n.SecretName(prefix), Prefix(prefix, AppKey, "prod")) {
		t.Error("Prefix does not cover the connection's managed keys")
	}
}

func TestDocuments(t *testing.T) {
	raw, err := os.ReadFile("testdata/app_key_document.json")
	if err != nil {
		t.Fatal(err)
	}
	app, err := AppKey.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if app.OwnerID == "" || !app.OwnerIsServiceAccount || !slices.Equal(app.Scopes, []string{"metrics_read"}) || app.APIKey == "" {
		t.Fatalf("parsed %v", app)
	}
	docs := map[Kind]Document{
		AppKey: app,
		Connection: {URL: app.URL, KeyID: "id", Key: strings.Repeat("c", 40), APIKey: strings.Repeat("d", 32),
			OwnerID: "owner", Scopes: []string{"x"}},
		APIKey: {URL: app.URL, KeyID: "id", Key: strings.Repeat("e", 32)},
	}
	for kind, d := range docs {
		t.Run(kind.Noun()+kind.Segment(), func(t *testing.T) {
			out, err := kind.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := kind.Parse(out)
			if err != nil || back.String() != d.String() || back.Key != d.Key || back.APIKey != d.APIKey || !slices.Equal(back.Scopes, d.Scopes) {
				t.Fatalf("round trip changed the document (err %v)", err)
			}
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "doc", d)
			for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v %#v %q", d, d, d), buf.String()} {
				testkit.AssertNoKeyMaterial(t, s, d.Key, d.APIKey)
			}
			for _, bad := range []string{"", "{}", `{"url":"x"}`, "not json " + d.Key} {
				_, err := kind.Parse(bad)
				if err == nil {
					t.Errorf("Parse(%.10q): no error", bad)
					continue
				}
				testkit.AssertNoKeyMaterial(t, err.Error(), d.Key)
			}
		})
	}
	noAPIKey := app
	noAPIKey.APIKey = ""
	if out, _ := AppKey.Marshal(noAPIKey); strings.Contains(out, "apiKey") {
		t.Error("a document without includeApiKey still has an apiKey field")
	}
}

func TestTagValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{`failed: "quoted" (x), y; z`, "failed: quoted x y z"},
		{"multi\nline\ttext", "multi line text"},
		{"keep _.:/=+-@ chars", "keep _.:/=+-@ chars"},
		{strings.Repeat("a", 300), strings.Repeat("a", MaxTagValue)},
	}
	for _, tt := range tests {
		if got := TagValue(tt.in); got != tt.want {
			t.Errorf("TagValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
