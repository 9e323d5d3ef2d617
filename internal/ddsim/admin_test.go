package ddsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/testkit"
)

func TestSimKeysListsKeysWithoutSecrets(t *testing.T) {
	f := newFixture(t, Options{})
	f.clock.Advance(time.Second) // Keys() is oldest first
	scoped, scopedID := f.mustCreateKey(f.adminKey, "scoped", []string{"metrics_read"})
	secrets := []string{f.adminKey, f.robotKey, scoped, f.apiKey}

	resp, body := f.raw(http.MethodGet, "/_sim/keys", nil, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	testkit.AssertNoKeyMaterial(t, body, secrets...)
	var keys []map[string]any
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if len(keys) != 3 {
		t.Fatalf("%d keys, want 3", len(keys))
	}
	for _, k := range keys {
		var fields []string
		for name := range k {
			fields = append(fields, name)
		}
		slices.Sort(fields)
		if want := []string{"created_at", "id", "last4", "name", "owner", "scopes"}; !slices.Equal(fields, want) {
			t.Errorf("fields %v, want %v", fields, want)
		}
		if k["id"] == scopedID && (k["last4"] != scoped[36:] || k["owner"] != f.adminID) {
			t.Errorf("scoped key: last4/owner mismatch: %v %v", k["last4"] == scoped[36:], k["owner"])
		}
	}
	if got := f.sim.Keys(); len(got) != 3 || got[2].ID != scopedID || !slices.Equal(got[2].Scopes, []string{"metrics_read"}) {
		t.Errorf("Keys() = %+v, want the scoped key last", got)
	}
}

func TestUnknownPathsAnswerJSON404(t *testing.T) {
	f := newFixture(t, Options{})
	for _, path := range []string{"/api/v2/no_such_endpoint", "/_sim/nothing", "/"} {
		resp, body := f.raw(http.MethodGet, path, nil, "")
		if resp.StatusCode != http.StatusNotFound || string(body) != `{"errors":["Not found"]}` {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}
