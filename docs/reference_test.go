package docs_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// referenceRow is a row of api.md's route table:
// | `METHOD` | `/path[?query]` | function | what it does |
var referenceRow = regexp.MustCompile("^\\| `([A-Z]+)` \\| `([^`]+)` \\| ([a-z]+) \\|")

// documentedRoutes returns api.md's routes as "METHOD /path" → function,
// the path without its query (`?limit=&cursor=`, `[?force=true]`).
func documentedRoutes(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("api.md")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		m := referenceRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		path, _, _ := strings.Cut(m[2], "?")
		key := m[1] + " " + strings.TrimSuffix(path, "[")
		if _, dup := routes[key]; dup {
			t.Errorf("api.md lists %s twice", key)
		}
		routes[key] = m[3]
	}
	if len(routes) == 0 {
		t.Fatal("api.md has no route table rows")
	}
	return routes
}

// TestAPIReferenceMatchesOpenAPI checks both directions, as
// pkg/httpapi's TestOpenAPIMatchesRoutes does for the route table: every
// route api.md lists is an operation of openapi.yaml served by the same
// function (the operation's tag), and every operation is listed.
func TestAPIReferenceMatchesOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("openapi.yaml")
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	specified := map[string]string{} // "METHOD /path" → tag
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			tag := ""
			if len(op.Tags) == 1 {
				tag = op.Tags[0]
			}
			specified[method+" "+path] = tag
		}
	}
	documented := documentedRoutes(t)
	for route, fn := range documented {
		tag, ok := specified[route]
		switch {
		case !ok:
			t.Errorf("api.md lists %s, which openapi.yaml does not specify", route)
		case tag != fn:
			t.Errorf("api.md says %s is served by %q, openapi.yaml tags it %q", route, fn, tag)
		}
	}
	for route := range specified {
		if _, ok := documented[route]; !ok {
			t.Errorf("openapi.yaml specifies %s, which api.md's route table does not list", route)
		}
	}
}
