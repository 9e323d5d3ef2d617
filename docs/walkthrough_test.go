package docs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/peer"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/logging"
)

// walkthroughTimeout bounds one walkthrough; the slowest, rotation, waits
// for one retry of a failed rotation (5 s in make dev).
const walkthroughTimeout = 90 * time.Second

// startDevStack starts the stack `make dev` runs (cmd/ddconn-dev's
// options), in memory, on free loopback ports.
func startDevStack(t *testing.T, logs *logcapture.Buffer) *devstack.Stack {
	t.Helper()
	opts := devstack.Options{
		SeedDemo:         true,
		RetryInterval:    devstack.DefaultRetryInterval,
		RotationFunction: devstack.RotationFunction(devstack.SimulatorActivation),
		SweepInterval:    time.Minute,
		DatadogRetry:     app.HTTP.DatadogRetry(),
		Logger:           logging.New(logs, slog.LevelInfo),
	}
	st := devstack.StartTest(t, opts)
	return st
}

// usesAWSCLI reports whether a script runs the aws CLI.
var usesAWSCLI = regexp.MustCompile(`(?m)(^|[\s"'$(])aws\s`)

// runScript runs script with bash -euo pipefail in a scratch directory and
// returns its output.
func runScript(t *testing.T, script string, env []string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "walkthrough.sh")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), walkthroughTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", file)
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, env, 5*time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("stopped after %v", walkthroughTimeout))
	}
	return string(out), err
}

// buildCLI builds the ddconn CLI (cmd/ddconn) into a scratch directory
// and returns the directory, for the walkthroughs' PATH.
func buildCLI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "ddconn"), "../cmd/ddconn")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the ddconn CLI: %v\n%s", err, out)
	}
	return dir
}

// withPath puts dir first on env's PATH.
func withPath(env []string, dir string) []string {
	for i, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + dir + string(os.PathListSeparator) + p
			return env
		}
	}
	return append(env, "PATH="+dir)
}

// scriptEnv is the test's environment for a walkthrough: AWS and ddconn
// CLI settings of the machine left out (the aws CLI's own, from
// peer.AWSCLI, when the script needs it) and API, SM and DD pointing at
// the stack.
func scriptEnv(t *testing.T, st *devstack.Stack, script string) []string {
	t.Helper()
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "DDCONN_")
	})
	if usesAWSCLI.MatchString(script) {
		_, env = peer.AWSCLI(t)
	}
	env = slices.DeleteFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "API=") || strings.HasPrefix(kv, "SM=") || strings.HasPrefix(kv, "DD=")
	})
	return append(env, "API="+st.APIURL, "SM="+st.SecretsManagerURL, "DD="+st.DatadogURL)
}

// keyShaped matches what could be an API key (32 hex) or an application
// key (40 characters); they are redacted from what the test prints.
var keyShaped = regexp.MustCompile(`\b[0-9a-f]{32}\b|\b[0-9a-zA-Z]{40}\b`)

// tail returns the last n lines of s, key-shaped values redacted.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return keyShaped.ReplaceAllString(strings.Join(lines, "\n"), "[redacted]")
}

// TestWalkthroughs runs every walkthrough of the docs, in document order,
// against one fresh dev stack, as a reader pastes them into a terminal
// next to `make dev`, with the ddconn CLI built from this tree first on
// PATH (as `make dev` builds it into .bin/).
func TestWalkthroughs(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not on PATH: the walkthroughs are skipped")
	}
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: the walkthroughs need it", tool)
		}
	}
	walkthroughs := readWalkthroughs(t)
	if len(walkthroughs) == 0 {
		t.Fatal("no walkthroughs found")
	}
	cli := buildCLI(t)
	var logs logcapture.Buffer
	st := startDevStack(t, &logs)
	for _, w := range walkthroughs {
		t.Run(w.name, func(t *testing.T) {
			script := w.script()
			env := withPath(scriptEnv(t, st, script), cli)
			start := time.Now()
			out, err := runScript(t, script, env)
			if err != nil {
				t.Errorf("walkthrough %q (%s, %d blocks) failed after %v: %v\noutput:\n%s\nstack log:\n%s",
					w.name, w.file, len(w.blocks), time.Since(start).Round(time.Millisecond), err, tail(out, 40), tail(logs.String(), 20))
				return
			}
			t.Logf("walkthrough %q (%s, %d blocks) ran in %v", w.name, w.file, len(w.blocks), time.Since(start).Round(time.Millisecond))
		})
	}
}

// expectDefinition is the expect function every walkthrough defines.
var expectDefinition = regexp.MustCompile(`(?m)^expect\(\) \{.*\}$`)

// TestExpectHelper checks the walkthroughs' expect helper: they all define
// it alike, and it fails a walkthrough on an HTTP status other than the
// expected one.
func TestExpectHelper(t *testing.T) {
	var def string
	for _, w := range readWalkthroughs(t) {
		got := expectDefinition.FindString(w.script())
		switch {
		case got == "":
			continue
		case def == "":
			def = got
		case got != def:
			t.Errorf("walkthrough %q defines expect differently:\n%s\nwant\n%s", w.name, got, def)
		}
	}
	if def == "" {
		t.Fatal("no walkthrough defines expect")
	}
	var logs logcapture.Buffer
	st := startDevStack(t, &logs)
	tests := []struct {
		name    string
		command string
		wantErr string // "" = success
	}{
		{"expected status", `expect 404 "$API/connections/nope"`, ""},
		{"other status", `expect 200 "$API/connections/nope"`, "expected HTTP 200, got 404"},
		{"server down", `expect 200 http://127.0.0.1:1/`, "Failed to connect"},
		{"piped to jq", `expect 200 "$API/connections/nope" | jq .`, "expected HTTP 200, got 404"},
		{"a failing command", `false`, "exit status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runScript(t, def+"\n"+tt.command+"\necho done\n", scriptEnv(t, st, ""))
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out, "done") {
					t.Fatalf("err = %v, output:\n%s", err, out)
				}
				return
			}
			if err == nil || strings.Contains(out, "done") {
				t.Fatalf("the script went on after %s; output:\n%s", tt.command, out)
			}
			if !strings.Contains(out+err.Error(), tt.wantErr) {
				t.Errorf("output lacks %q: %v\n%s", tt.wantErr, err, out)
			}
		})
	}
}
