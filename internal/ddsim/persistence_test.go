package ddsim

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
)

func TestDataFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ddsim.json")
	f := newFixture(t, Options{DataFile: path})
	kept, _ := f.mustCreateKey(f.robotKey, "kept", []string{"metrics_read"})
	doomed, doomedID := f.mustCreateKey(f.robotKey, "doomed", nil)
	if resp, err := f.keys().DeleteCurrentUserApplicationKey(f.as(f.robotKey), doomedID); statusOf(t, resp, err) != http.StatusNoContent {
		t.Fatal("delete failed")
	}

	reloaded, err := New(Options{DataFile: path, Now: f.clock.Now})
	if err != nil {
		t.Fatalf("New from data file: %v", err)
	}
	tests := []struct {
		name           string
		apiKey, appKey string
		want           bool
	}{
		{"helper-created key", f.apiKey, f.adminKey, true},
		{"key created over HTTP", f.apiKey, kept, true},
		{"key deleted over HTTP", f.apiKey, doomed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reloaded.Authenticates(tt.apiKey, tt.appKey); got != tt.want {
				t.Errorf("Authenticates = %v, want %v", got, tt.want)
			}
		})
	}
	if !slices.EqualFunc(reloaded.Keys(), f.sim.Keys(), func(a, b KeyInfo) bool {
		return a.ID == b.ID && a.Name == b.Name && slices.Equal(a.Scopes, b.Scopes) && a.CreatedAt.Equal(b.CreatedAt)
	}) {
		t.Errorf("reloaded keys differ:\n%+v\n%+v", reloaded.Keys(), f.sim.Keys())
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("data file mode %o, want 600 (it holds secrets)", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the data file (no temp files left)", len(entries))
	}
}

func TestDataFileFixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(readFixture(t, "state.json")), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := New(Options{DataFile: path})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	const (
		apiKey = "0123456789abcdef0123456789abcdef"
		appKey = "fixturefixturefixturefixturefixture00001"
	)
	if !sim.Authenticates(apiKey, appKey) {
		t.Fatal("fixture keys do not authenticate")
	}
	keys := sim.Keys()
	if len(keys) != 1 || keys[0].ID != "11111111-1111-4111-8111-111111111111" || keys[0].Scopes != nil {
		t.Errorf("Keys() = %+v, want the fixture's unscoped key", keys)
	}
}

func TestDataFileErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"corrupt file", corrupt, true},
		{"directory instead of a file", dir, true},
		{"missing file starts empty", filepath.Join(dir, "new.json"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, err := New(Options{DataFile: tt.path})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && len(sim.Keys()) != 0 {
				t.Errorf("new simulator has keys")
			}
		})
	}

	t.Run("failed save is logged and returned by SeedDemo", func(t *testing.T) {
		var logs bytes.Buffer
		sim, err := New(Options{
			DataFile: filepath.Join(dir, "no-such-dir", "state.json"),
			Logger:   slog.New(slog.NewJSONHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := sim.SeedDemo(); err == nil {
			t.Error("SeedDemo succeeded although the data file cannot be written")
		}
		if !strings.Contains(logs.String(), `"msg":"saving simulator state"`) {
			t.Errorf("no error logged: %s", logs.String())
		}
		testkit.AssertNoKeyMaterial(t, logs.String(), DemoAppKey, DemoAPIKey)
		if !sim.Authenticates(DemoAPIKey, DemoAppKey) {
			t.Error("in-memory state lost after a failed save")
		}
	})
}
