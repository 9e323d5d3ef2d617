package deploy

import "testing"

// TestCfnLint runs AWS's own template linter, which also applies the SAM
// transform, so a template SAM cannot expand fails here.
func TestCfnLint(t *testing.T) {
	if _, err := lookPath("cfn-lint"); err != nil {
		t.Skip("cfn-lint not on PATH; pip install cfn-lint")
	}
	out, err := runIn(repoRoot, "cfn-lint", "template.yaml")
	if err != nil {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}
