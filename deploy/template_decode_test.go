package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The tests below read template.yaml through Decode, so Decode itself
// must be right: a short form that decoded differently from its long form
// would make every other check compare the wrong shape.

func TestDecodeCFNShortFormsEqualLongForms(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "shortforms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(doc) == 0 {
		t.Fatal("no cases in testdata/shortforms.yaml")
	}
	for name, c := range doc {
		t.Run(name, func(t *testing.T) {
			pair := asMap(c)
			if !reflect.DeepEqual(pair["short"], pair["long"]) {
				t.Errorf("short form decoded to %#v, long form to %#v", pair["short"], pair["long"])
			}
		})
	}
}

func TestDecodeCFNRejectsWhatCloudFormationRejects(t *testing.T) {
	tests := []struct {
		file    string
		wantErr string
	}{
		{"alias.yaml", "CloudFormation does not accept aliases"},
		{"merge-key.yaml", "no merge keys"},
		{"unknown-tag.yaml", "unknown tag !Reff"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Decode(data)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMergeGlobals(t *testing.T) {
	global := map[string]any{
		"Runtime":       "provided.al2023",
		"Layers":        []any{"a"},
		"Environment":   map[string]any{"Variables": map[string]any{"A": "global", "B": "global"}},
		"Architectures": []any{"arm64"},
	}
	local := map[string]any{
		"Runtime":     "provided.al2",
		"Layers":      []any{"b"},
		"Environment": map[string]any{"Variables": map[string]any{"B": "local", "C": ref("X")}},
	}
	want := map[string]any{
		"Runtime":       "provided.al2",
		"Layers":        []any{"a", "b"},
		"Environment":   map[string]any{"Variables": map[string]any{"A": "global", "B": "local", "C": ref("X")}},
		"Architectures": []any{"arm64"},
	}
	if got := mergeGlobals(global, local); !reflect.DeepEqual(got, want) {
		t.Errorf("mergeGlobals() = %#v\nwant %#v", got, want)
	}
	if _, touched := global["Environment"].(map[string]any)["Variables"].(map[string]any)["C"]; touched {
		t.Error("mergeGlobals modified the globals it was given")
	}
}

func TestStatementsRefusesUnreadableGrants(t *testing.T) {
	tpl, err := Load(filepath.Join("testdata", "managed-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"Fn", "FnSamPolicy"} {
		if _, err := tpl.Statements(id); err == nil || !strings.Contains(err.Error(), "cannot be read") {
			t.Errorf("Statements(%s) error = %v, want one saying the grants cannot be read", id, err)
		}
	}
}
