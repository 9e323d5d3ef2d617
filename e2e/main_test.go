//go:build e2e

package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ddconn/ddconn/deploy"
	"github.com/ddconn/ddconn/internal/smemu"
)

// repoRoot is the module root: the Makefile, template.yaml and .bin/.
const repoRoot = ".."

// rieFlag is where the emulator is; `make e2e` passes the Makefile's $(RIE).
var rieFlag = flag.String("rie", filepath.Join(repoRoot, ".bin", "aws-lambda-rie"), "path of aws-lambda-rie")

var (
	// riePath is the absolute path of the emulator.
	riePath string
	// template is template.yaml, read once.
	template *deploy.Template
	// bootstraps are the host builds of every function, by logical id.
	bootstraps map[string]string
	// setupErr is why template or bootstraps are missing.
	setupErr error
)

// TestMain builds every function once, for the host, with the Makefile's
// build-<LogicalId> targets; the tests then start them as often as needed.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	var err error
	if riePath, err = filepath.Abs(*rieFlag); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "ddconn-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if _, err := os.Stat(riePath); err == nil {
		bootstraps, setupErr = buildAll(dir)
	}
	return m.Run()
}

func buildAll(dir string) (map[string]string, error) {
	var err error
	if template, err = deploy.Load(filepath.Join(repoRoot, "template.yaml")); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := map[string]string{}
	for _, id := range template.Functions() {
		fnDir := filepath.Join(dir, id)
		if err := os.Mkdir(fnDir, 0o755); err != nil {
			return nil, err
		}
		if out[id], err = BuildFunction(ctx, repoRoot, id, runtime.GOARCH, fnDir); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newStack starts every function under the RIE against fresh stand-ins, the
// simulator seeded with the demo organisation. It skips the test when the
// RIE is not installed. Function output goes to files that are kept, and
// named, when the test fails.
func newStack(t *testing.T) *Stack {
	t.Helper()
	if _, err := os.Stat(riePath); err != nil {
		t.Skipf("aws-lambda-rie not found at %s: run `make tools` (`make e2e` does)", riePath)
	}
	if setupErr != nil {
		t.Fatalf("building the functions: %v", setupErr)
	}
	logDir, err := os.MkdirTemp("", "ddconn-e2e-logs-")
	if err != nil {
		t.Fatal(err)
	}
	st, err := StartStack(context.Background(), StackOptions{
		Template:   template,
		RIE:        riePath,
		Bootstraps: bootstraps,
		LogDir:     logDir,
		// Failed rotation steps are re-attempted after milliseconds, not
		// Secrets Manager's minutes.
		Emulator: smemu.Options{RetryInterval: 50 * time.Millisecond, MaxAttempts: 3, TickInterval: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
		if t.Failed() {
			t.Logf("function and RIE output kept in %s", logDir)
			return
		}
		os.RemoveAll(logDir)
	})
	if err := st.Simulator.SeedDemo(); err != nil {
		t.Fatal(err)
	}
	return st
}
