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

const (
	arnA = "arn:aws:secretsmanager:us-east-1:111111111111:secret:ddconn/connections/prod-AbCdEf"
	// arnB is a secret of another deployment: another account.
	arnB = "arn:aws:secretsmanager:us-east-1:222222222222:secret:ddconn/connections/prod-GhIjKl"
)

func TestDatadogKeyNames(t *testing.T) {
	scope := KeyScope(prefix, arnA)
	tests := []struct {
		name  Name
		scope string
		want  string
	}{
		{ConnectionName("prod"), scope, "ddconn@" + scope + ":prod:tok"},
		{Name{AppKey, "prod", "a"}, scope, "ddconn-managed@" + scope + ":keys/prod/a:tok"},
		{Name{APIKey, "prod", "a"}, scope, "ddconn-managed@" + scope + ":api-keys/prod/a:tok"},
		{ConnectionName("prod"), "", "ddconn:prod:tok"},
		{Name{AppKey, "prod", "a"}, "", "ddconn-managed:keys/prod/a:tok"},
	}
	for _, tt := range tests {
		got := tt.name.DatadogKeyName(tt.scope, "tok")
		if got != tt.want {
			t.Errorf("DatadogKeyName(%v, %q) = %q, want %q", tt.name, tt.scope, got, tt.want)
		}
		if !tt.name.OwnsKey(scope, got) {
			t.Errorf("%v does not own its key %q", tt.name, got)
		}
		parsed, ok := ParseDatadogKeyName(scope, got)
		if wantOK := tt.scope != ""; ok != wantOK || ok && parsed != tt.name {
			t.Errorf("ParseDatadogKeyName(%q) = %v, %v; want %v, %v", got, parsed, ok, tt.name, wantOK)
		}
		if namedByDdconn(ReleasedKeyName(got)) || tt.name.OwnsKey(scope, ReleasedKeyName(got)) {
			t.Errorf("the released name of %q still looks like ddconn's", got)
		}
	}
	notOwned := []struct {
		owner Name
		key   string
	}{
		{ConnectionName("prod"), ConnectionName("prod-eu").DatadogKeyName(scope, "t")},
		{ConnectionName("prod"), ConnectionName("prod-eu").DatadogKeyName("", "t")},
		{Name{AppKey, "prod", "a"}, Name{AppKey, "prod", "a-b"}.DatadogKeyName(scope, "t")},
		{ConnectionName("prod"), Name{AppKey, "prod", "a"}.DatadogKeyName(scope, "t")},
		{ConnectionName("prod"), ConnectionName("prod").DatadogKeyName(KeyScope(prefix, arnB), "t")},
	}
	for _, tt := range notOwned {
		if tt.owner.OwnsKey(scope, tt.key) {
			t.Errorf("%v owns %q", tt.owner, tt.key)
		}
	}
	for _, key := range []string{
		ConnectionName("prod").DatadogKeyName(KeyScope(prefix, arnB), "t"), // another deployment's
		"ddconn:prod:t", "ddconn@" + scope + ":prod", "ddconn@" + scope + ":Prod:t",
		"ddconn-managed@" + scope + ":keys/prod:t", "ddconn-managed@" + scope + ":nope/prod/a:t", "made by hand",
	} {
		if n, ok := ParseDatadogKeyName(scope, key); ok {
			t.Errorf("ParseDatadogKeyName(%q) = %v, want not ok", key, n)
		}
	}
	n := Name{AppKey, "prod", "a"}
	if !strings.HasPrefix(n.SecretName(prefix), Prefix(prefix, AppKey, "prod")) {
		t.Error("Prefix does not cover the connection's managed keys")
	}
}

func TestKeyScope(t *testing.T) {
	a := KeyScope(prefix, arnA)
	same := KeyScope(prefix, "arn:aws:secretsmanager:us-east-1:111111111111:secret:ddconn/connections/keys/prod/a-XyZwVu")
	if a == "" || a != same {
		t.Errorf("secrets of one deployment have scopes %q and %q", a, same)
	}
	others := []string{
		KeyScope(prefix, arnB),
		KeyScope(prefix, "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ddconn/connections/prod-AbCdEf"),
		KeyScope("staging/", "arn:aws:secretsmanager:us-east-1:111111111111:secret:staging/prod-AbCdEf"),
	}
	for _, o := range others {
		if o == a {
			t.Errorf("another deployment has the scope %q", a)
		}
	}
	if s := KeyScope(prefix, "arn:prod"); s != "" {
		t.Errorf("KeyScope of an unreadable ARN = %q, want \"\"", s)
	}
}

func TestMintedKeysPutsTheCurrentKeyLast(t *testing.T) {
	scope := KeyScope(prefix, arnA)
	n := ConnectionName("prod")
	keys := []Key{
		{ID: "cur", Name: n.DatadogKeyName(scope, "1")},
		{ID: "user", Name: "made by the user"},
		{ID: "legacy", Name: n.DatadogKeyName("", "0")},
		{ID: "retired", Name: "original"},
		{ID: "other", Name: ConnectionName("prod-eu").DatadogKeyName(scope, "2")},
		{ID: "pending", Name: n.DatadogKeyName(scope, "3")},
	}
	var got []string
	for _, k := range MintedKeys(scope, n, keys, []string{"retired"}, "cur") {
		got = append(got, k.ID)
	}
	if want := []string{"legacy", "retired", "pending", "cur"}; !slices.Equal(got, want) {
		t.Errorf("MintedKeys = %v, want %v", got, want)
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
