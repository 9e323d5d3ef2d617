package statefile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ddconn/ddconn/internal/statefile"
)

func TestWriteReplacesTheFileAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{`{"n":1}`, `{"n":2}`} {
		if err := statefile.Write(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("file holds %q (%v), want %q", got, err, content)
		}
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file", len(entries))
	}
}

func TestWriteNeedsTheDirectory(t *testing.T) {
	if err := statefile.Write(filepath.Join(t.TempDir(), "missing", "state.json"), []byte("{}")); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}
