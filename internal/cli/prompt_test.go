package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/testkit"
)

// runAsCLI, set to 1 in the environment, makes the test binary run the
// CLI on its arguments instead of the tests (TestPromptWithoutEcho runs it
// on a terminal).
const runAsCLI = "DDCONN_CLI_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCLI) == "1" {
		os.Exit(Run(context.Background(), os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPromptWithoutEcho runs the CLI on a terminal (util-linux's
// script gives it a pseudo-terminal), types the keys at its prompts, and
// checks that the terminal never showed them and the connection was made.
func TestPromptWithoutEcho(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script (util-linux) is not on PATH: no pseudo-terminal to test the prompt on")
	}
	st := startStack(t, io.Discard, nil)
	isolate(t, st.APIURL)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("script", "-q", "-e", "-c", bin+" connections create prompted --url datadoghq.com", os.DevNull)
	cmd.Env = append(os.Environ(), runAsCLI+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForText := func(s string) {
		t.Helper()
		for range 200 {
			if strings.Contains(out.String(), s) {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatalf("no %q on the terminal; it shows:\n%s", s, redact(out.String()))
	}
	waitForText("Datadog API key: ")
	time.Sleep(100 * time.Millisecond) // the prompt is printed just before echo is turned off
	io.WriteString(stdin, ddsim.DemoAPIKey+"\n")
	waitForText("Datadog application key: ")
	time.Sleep(100 * time.Millisecond)
	io.WriteString(stdin, ddsim.DemoAppKey+"\n")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ddconn on a terminal: %v\n%s", err, redact(out.String()))
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("ddconn on a terminal did not finish:\n%s", redact(out.String()))
	}
	if !strings.Contains(out.String(), "prompted") {
		t.Errorf("the connection's table is missing:\n%s", redact(out.String()))
	}
	testkit.AssertNoKeyMaterial(t, out.String(), ddsim.DemoAPIKey, ddsim.DemoAppKey)
}
