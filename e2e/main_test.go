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
	"github.com/ddconn/ddconn/internal/testkit"
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

// TestMain finds every function's host build, once: under `make e2e` the
// ones `make bootstraps` built (testkit.BootstrapsEnv), else it builds them
// with the Makefile's build-<LogicalId> targets. The tests then start them
// as often as needed. The RIE runs only binaries of its own architecture,
// so these are the host's builds, not the arm64 ones that ship.
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
		bootstraps, setupErr = hostBootstraps(dir)
	}
	return m.Run()
}

// hostBootstraps returns the host build of every function, building into
// dir those the Makefile did not, one at a time with a progress line each.
func hostBootstraps(dir string) (map[string]string, error) {
	var err error
	if template, err = deploy.Load(filepath.Join(repoRoot, "template.yaml")); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := map[string]string{}
	for _, id := range template.Functions() {
		if out[id], err = testkit.Bootstrap(id, runtime.GOARCH); err != nil {
			return nil, err
		}
		if out[id] != "" {
			continue
		}
		fnDir := filepath.Join(dir, id)
		if err := os.Mkdir(fnDir, 0o755); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "e2e: building %s for linux/%s (`%s` builds them before go test)\n", id, runtime.GOARCH, testkit.MakeBootstraps(runtime.GOARCH))
		start := time.Now()
		if out[id], err = BuildFunction(ctx, repoRoot, id, runtime.GOARCH, fnDir); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", id, time.Since(start).Round(time.Second))
	}
	return out, nil
}

// newStack starts every function under the RIE against fresh stand-ins, the
// simulator seeded with the demo organisation. It skips the test when the
// RIE is not installed. Function output goes to files that are kept, and
// named, when the test fails.
func newStack(t *testing.T, options ...func(*StackOptions)) *Stack {
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
	opts := StackOptions{
		Template:   template,
		RIE:        riePath,
		Bootstraps: bootstraps,
		LogDir:     logDir,
		// Failed rotation steps are re-attempted after milliseconds, not
		// Secrets Manager's minutes.
		Emulator: smemu.Options{RetryInterval: 50 * time.Millisecond, MaxAttempts: 3, TickInterval: 50 * time.Millisecond},
	}
	for _, o := range options {
		o(&opts)
	}
	st, err := StartStack(context.Background(), opts)
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
