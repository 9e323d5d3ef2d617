package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDatadogClient keeps the CLI free of the Datadog client: it would
// make the binary large and slow to build, and the CLI never calls Datadog.
func TestNoDatadogClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ddconn/ddconn/cmd/ddconn").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for pkg := range strings.Lines(string(out)) {
		if strings.Contains(pkg, "datadog-api-client-go") {
			t.Fatalf("cmd/ddconn depends on %s", strings.TrimSpace(pkg))
		}
	}
}
