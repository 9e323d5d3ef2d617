package peer

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// installHint says how to get the peers.
const installHint = `pip install "moto[server]" awscli`

// Moto runs moto_server on a free loopback port until the test ends and
// returns its endpoint, or skips the test saying why it cannot.
func Moto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not on PATH (" + installHint + "): the check against moto is skipped")
	}
	port, err := freePort()
	if err != nil {
		t.Skipf("no free port for moto_server: %v", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
	cmd.Env = append(isolatedEnv(t.TempDir()), "AWS_DEFAULT_REGION=us-east-1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Skipf("moto_server did not start: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	endpoint := "http://127.0.0.1:" + port
	if err := waitForHTTP(endpoint+"/moto-api/", 30*time.Second); err != nil {
		t.Skipf("moto_server not reachable: %v; output: %s", err, logs.String())
	}
	return endpoint
}

// AWSCLI returns the aws CLI and an environment for it that keeps the
// machine's AWS settings (profiles, endpoints, keys, CA bundle) out of the
// test: dummy keys, us-east-1, no pager, one attempt per call. It skips
// the test when the CLI is missing.
func AWSCLI(t testing.TB) (bin string, env []string) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH (" + installHint + "): the CLI test is skipped")
	}
	return bin, append(isolatedEnv(t.TempDir()), "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
}

// isolatedEnv is the process environment without AWS_* variables, plus
// dummy keys and empty config files in dir.
func isolatedEnv(dir string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	return append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"))
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

func waitForHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
