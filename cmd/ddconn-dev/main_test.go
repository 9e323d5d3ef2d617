package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    flags
		wantErr bool
	}{
		{"defaults", nil, flags{dataDir: ".ddconn-dev", retryInterval: 5 * time.Second, sweepInterval: time.Minute,
			smAddr: "127.0.0.1:4566", ddAddr: "127.0.0.1:4580", apiAddr: "127.0.0.1:3000"}, false},
		{"memory and intervals", []string{"-memory", "-retry-interval", "2s", "-sweep-interval", "0", "-data-dir", "/tmp/x"}, flags{dataDir: "/tmp/x", memory: true,
			retryInterval: 2 * time.Second, smAddr: "127.0.0.1:4566", ddAddr: "127.0.0.1:4580", apiAddr: "127.0.0.1:3000"}, false},
		{"unknown flag", []string{"-nope"}, flags{}, true},
		{"stray argument", []string{"serve"}, flags{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && got != tt.want {
				t.Fatalf("flags = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// lockedBuffer lets the test read what run prints while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunServesAndPersists starts the dev stack on random ports, checks the
// banner and the demo organisation, stops it, and checks both stand-ins
// wrote their data files.
func TestRunServesAndPersists(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-data-dir", dir, "-api-addr", "127.0.0.1:0",
			"-secretsmanager-addr", "127.0.0.1:0", "-datadog-addr", "127.0.0.1:0"}, &out, io.Discard)
	}()
	api := waitFor(t, &out, regexp.MustCompile(`API\s+(http://127\.0\.0\.1:\d+)`))
	for _, want := range []string{ddsim.DemoAPIKey, ddsim.DemoAppKey, ddsim.DemoRotatorID, "get-secret-value", "curl", "ddconn status",
		"ddconn-rotate", "/_emu/clock", `{"advance":"30d"}`, "/_sim/faults"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	body := `{"name":"demo","credentials":{"url":"https://api.datadoghq.com","apiKey":"` + ddsim.DemoAPIKey + `","applicationKey":"` + ddsim.DemoAppKey + `"}}`
	resp, err := http.Post(api+"/connections", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create against the dev stack: %d", resp.StatusCode)
	}
	// Rotation is wired by default: the dev ARN is configured.
	req, _ := http.NewRequest("PUT", api+"/connections/demo/rotation", strings.NewReader(`{"schedule":"rate(30 days)","rotateImmediately":false}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT rotation against the dev stack: %d", resp.StatusCode)
	}
	// make dev-reset refuses to wipe the data of a running stack.
	if out, err := devReset(t, dir); err == nil || !strings.Contains(out, "make dev is running") {
		t.Errorf("make dev-reset while the stack runs: err = %v, output:\n%s", err, out)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop when its context ended")
	}
	for _, f := range []string{"secretsmanager.json", "datadog.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, pidFile)); !os.IsNotExist(err) {
		t.Errorf("%s left behind after the stack stopped: %v", pidFile, err)
	}
	if out, err := devReset(t, dir); err != nil {
		t.Errorf("make dev-reset after the stack stopped: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("make dev-reset left %s: %v", dir, err)
	}
}

// devReset runs `make dev-reset` on dir, or skips the test without make.
func devReset(t *testing.T, dir string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on PATH: the make dev-reset check is skipped")
	}
	out, err := exec.Command("make", "-s", "-C", "../..", "dev-reset", "DEV_DATA="+dir).CombinedOutput()
	return string(out), err
}

func waitFor(t *testing.T, out *lockedBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no match for %s in output:\n%s", re, out.String())
	return ""
}
