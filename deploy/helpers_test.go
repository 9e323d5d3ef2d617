package deploy

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"
)

// repoRoot is the module root, where template.yaml and the Makefile live.
const repoRoot = ".."

// loadTemplate reads ../template.yaml or fails the test.
func loadTemplate(t testing.TB) *Template {
	t.Helper()
	tpl, err := Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// ref is the long form of !Ref name.
func ref(name string) map[string]any { return map[string]any{"Ref": name} }

// getAtt is the long form of !GetAtt res.attr.
func getAtt(res, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{res, attr}}
}

// sub is the long form of !Sub s.
func sub(s string) map[string]any { return map[string]any{"Fn::Sub": s} }

// lookPath is exec.LookPath, named for what the tests use it for.
func lookPath(tool string) (string, error) { return exec.LookPath(tool) }

// runIn runs a command in dir and returns its combined output.
func runIn(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
