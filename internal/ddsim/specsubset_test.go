package ddsim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ddconn/ddconn/internal/testkit"
)

// Loading Datadog's whole v2 OpenAPI document into kin-openapi takes about
// 2 s, and about 30 s under -race: decoding thousands of schemas dominates.
// The contract test therefore loads a subset: the path items the simulator
// implements, copied verbatim, plus every component they reference (directly
// or through other components), all security schemes and the other top-level
// sections. Operations are validated against the same text as in the full
// document; a reference the subset missed makes loading fail, not pass.
//
// The subset is cut on the layout of Datadog's generated YAML: top-level keys
// at column 0, path items at 2 spaces, component kinds at 2 and component
// entries at 4 spaces, every body indented deeper than its key.

// yamlBlock is a key line and the lines of its body.
type yamlBlock struct {
	key   string
	lines []string
}

var componentRef = regexp.MustCompile(`#/components/([A-Za-z]+)/([A-Za-z0-9_.\-]+)`)

// specSubset cuts doc down to the path items named in paths.
func specSubset(doc []byte, paths []string) ([]byte, error) {
	top := splitBlocks(strings.Split(string(doc), "\n"), 0)
	pathBlocks, components := findBlock(top, "paths"), findBlock(top, "components")
	if pathBlocks == nil || components == nil {
		return nil, fmt.Errorf("document has no paths or components section")
	}
	keptPaths := keepBlocks(splitBlocks(pathBlocks.lines[1:], 2), paths)
	if len(keptPaths) != len(paths) {
		return nil, fmt.Errorf("document lacks some of the paths %v", paths)
	}
	kinds := splitBlocks(components.lines[1:], 2)
	entries := map[string][]yamlBlock{} // kind → entries
	for _, kind := range kinds {
		entries[kind.key] = splitBlocks(kind.lines[1:], 4)
	}
	needed := referencedComponents(keptPaths, entries)

	var out []string
	for _, b := range top {
		switch b.key {
		case "paths":
			out = append(out, b.lines[0])
			for _, p := range keptPaths {
				out = append(out, p.lines...)
			}
		case "components":
			out = append(out, b.lines[0])
			for _, kind := range kinds {
				out = append(out, subsetKind(kind, entries[kind.key], needed[kind.key])...)
			}
		default:
			out = append(out, b.lines...)
		}
	}
	return []byte(strings.Join(out, "\n")), nil
}

// subsetKind keeps the needed entries of one component kind. Security
// schemes are kept whole: operations name them without a $ref.
func subsetKind(kind yamlBlock, entries []yamlBlock, needed map[string]bool) []string {
	if kind.key == "securitySchemes" || len(kind.lines) == 1 { // kept whole, or inline like "examples: {}"
		return kind.lines
	}
	var names []string
	for name := range needed {
		names = append(names, name)
	}
	kept := keepBlocks(entries, names)
	if len(kept) == 0 {
		return []string{"  " + kind.key + ": {}"}
	}
	lines := []string{kind.lines[0]}
	for _, e := range kept {
		lines = append(lines, e.lines...)
	}
	return lines
}

// referencedComponents follows $refs from roots through the component entries
// and returns the reachable names per kind.
func referencedComponents(roots []yamlBlock, entries map[string][]yamlBlock) map[string]map[string]bool {
	needed := map[string]map[string]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		for _, m := range componentRef.FindAllStringSubmatch(strings.Join(b.lines, "\n"), -1) {
			kind, name := m[1], m[2]
			if needed[kind][name] {
				continue
			}
			if needed[kind] == nil {
				needed[kind] = map[string]bool{}
			}
			needed[kind][name] = true
			queue = append(queue, keepBlocks(entries[kind], []string{name})...)
		}
	}
	return needed
}

// splitBlocks splits lines into blocks whose key lines are indented by
// exactly indent spaces. Lines before the first key line are dropped: at
// every level used here that is only the parent's own key line.
func splitBlocks(lines []string, indent int) []yamlBlock {
	var blocks []yamlBlock
	prefix := strings.Repeat(" ", indent)
	for _, line := range lines {
		rest, ok := strings.CutPrefix(line, prefix)
		if ok && rest != "" && rest[0] != ' ' && rest[0] != '-' && rest[0] != '#' {
			blocks = append(blocks, yamlBlock{key: blockKey(rest)})
		}
		if len(blocks) > 0 {
			last := &blocks[len(blocks)-1]
			last.lines = append(last.lines, line)
		}
	}
	return blocks
}

// blockKey extracts the mapping key of a key line ("name:" or "name: value").
func blockKey(line string) string {
	key, _, found := strings.Cut(line, ": ")
	if !found {
		key = strings.TrimSuffix(line, ":")
	}
	return strings.Trim(key, `'"`)
}

func findBlock(blocks []yamlBlock, key string) *yamlBlock {
	for i := range blocks {
		if blocks[i].key == key {
			return &blocks[i]
		}
	}
	return nil
}

// keepBlocks returns the blocks whose key is in keys, in document order.
func keepBlocks(blocks []yamlBlock, keys []string) []yamlBlock {
	var kept []yamlBlock
	for _, b := range blocks {
		if slices.Contains(keys, b.key) {
			kept = append(kept, b)
		}
	}
	return kept
}

func TestSpecSubset(t *testing.T) {
	full := []byte(readFixture(t, "mini_openapi.yaml"))
	subset, err := specSubset(full, []string{"/api/v2/things/{thing_id}"})
	if err != nil {
		t.Fatalf("specSubset: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(subset)
	if err != nil {
		t.Fatalf("loading the subset: %v\n%s", err, subset)
	}
	tests := []struct {
		name string
		kept bool
	}{
		{"ThingResponse", true}, {"Thing", true}, {"User", true}, // transitive
		{"Widget", false},
	}
	for _, tt := range tests {
		if got := doc.Components.Schemas[tt.name] != nil; got != tt.kept {
			t.Errorf("schema %s kept = %v, want %v", tt.name, got, tt.kept)
		}
	}
	switch {
	case doc.Paths.Value("/api/v2/widgets") != nil:
		t.Error("unrequested path kept")
	case doc.Components.Parameters["ThingID"] == nil || doc.Components.Parameters["Unused"] != nil:
		t.Error("parameters not cut to the referenced ones")
	case doc.Components.SecuritySchemes["apiKeyAuth"] == nil:
		t.Error("security schemes dropped")
	case !strings.Contains(doc.Components.Schemas["User"].Value.Description, "stays with its entry"):
		t.Error("multi-line description cut short")
	}

	t.Run("unknown path is an error", func(t *testing.T) {
		if _, err := specSubset(full, []string{"/api/v2/gadgets"}); err == nil {
			t.Error("no error for a path the document lacks")
		}
	})
	t.Run("a dangling reference fails loading rather than passing", func(t *testing.T) {
		broken := strings.Replace(string(full), "    User:\n", "    Renamed:\n", 1)
		subset, err := specSubset([]byte(broken), []string{"/api/v2/things/{thing_id}"})
		if err != nil {
			t.Fatalf("specSubset: %v", err)
		}
		if _, err := openapi3.NewLoader().LoadFromData(subset); err == nil {
			t.Error("subset with a dangling $ref loaded without error")
		}
	})
}

// TestSpecSubsetMatchesFullDocument loads the whole documents and checks that
// every path item and component in the subset is identical to the full
// document's. It takes ~30 s under -race, so it runs only without it.
func TestSpecSubsetMatchesFullDocument(t *testing.T) {
	if testkit.RaceEnabled {
		t.Skip("loading the full v2 document takes ~30 s under -race; run without -race")
	}
	dir := clientModuleDir(t)
	for version, paths := range implementedPaths() {
		t.Run(version, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, ".generator", "schemas", version, "openapi.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			full, err := openapi3.NewLoader().LoadFromData(raw)
			if err != nil {
				t.Fatalf("loading the full document: %v", err)
			}
			cut, err := specSubset(raw, paths)
			if err != nil {
				t.Fatal(err)
			}
			subset, err := openapi3.NewLoader().LoadFromData(cut)
			if err != nil {
				t.Fatalf("loading the subset: %v", err)
			}
			for _, p := range paths {
				sameJSON(t, "path "+p, full.Paths.Value(p), subset.Paths.Value(p))
			}
			for name, schema := range subset.Components.Schemas {
				sameJSON(t, "schema "+name, full.Components.Schemas[name], schema)
			}
			for name, param := range subset.Components.Parameters {
				sameJSON(t, "parameter "+name, full.Components.Parameters[name], param)
			}
			for name, resp := range subset.Components.Responses {
				sameJSON(t, "response "+name, full.Components.Responses[name], resp)
			}
			sameJSON(t, "security", full.Security, subset.Security)
			sameJSON(t, "security schemes", full.Components.SecuritySchemes, subset.Components.SecuritySchemes)
		})
	}
}

func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err1 := json.Marshal(want)
	g, err2 := json.Marshal(got)
	if err1 != nil || err2 != nil || string(w) != string(g) {
		t.Errorf("%s differs between the full document and the subset", what)
	}
}
