package busemu

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/peer"
)

// awsEvents runs `aws events put-events` against endpoint; it returns the
// decoded output, stderr and the error.
func awsEvents(t *testing.T, endpoint string, entries string) (map[string]any, string, error) {
	t.Helper()
	bin, env := peer.AWSCLI(t)
	cmd := exec.CommandContext(ctxT(t), bin, "events", "put-events", "--entries", entries, "--endpoint-url", endpoint, "--output", "json")
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if err == nil {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			t.Fatalf("put-events output is not JSON: %v", jerr)
		}
	}
	return out, stderr.String(), err
}

// TestAWSCLI drives the stand-in with the aws CLI. Each CLI start costs
// about a second, so the cases run in parallel.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not on PATH: CLI test skipped")
	}
	b := newBus(t, Options{Buses: []string{"ddconn"}})
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	t.Run("two entries, one failed", func(t *testing.T) {
		t.Parallel()
		out, stderr, err := awsEvents(t, srv.URL, `[{"Source":"cli.test","DetailType":"CLI Ran","Detail":"{\"n\":1}","EventBusName":"ddconn","Resources":["arn:aws:s3:::b"]},`+
			`{"Source":"cli.test","DetailType":"CLI Ran"}]`)
		if err != nil {
			t.Fatalf("put-events: %v\n%s", err, stderr)
		}
		entries, _ := out["Entries"].([]any)
		if out["FailedEntryCount"] != 1.0 || len(entries) != 2 {
			t.Fatalf("put-events = %v", out)
		}
		first, _ := entries[0].(map[string]any)
		second, _ := entries[1].(map[string]any)
		id, _ := first["EventId"].(string)
		if id == "" || second["ErrorCode"] != "InvalidArgument" {
			t.Fatalf("put-events entries = %v", entries)
		}
		ev := findEvent(b.Events(), id)
		if ev == nil || ev.Bus != "ddconn" || ev.Source != "cli.test" || string(ev.Detail) != `{"n":1}` || !slices.Equal(ev.Resources, []string{"arn:aws:s3:::b"}) {
			t.Fatalf("recorded %+v", ev)
		}
	})
	t.Run("eleven entries", func(t *testing.T) {
		t.Parallel()
		entry := `{"Source":"cli.test","DetailType":"CLI Ran","Detail":"{}"}`
		_, stderr, err := awsEvents(t, srv.URL, "["+strings.TrimSuffix(strings.Repeat(entry+",", 11), ",")+"]")
		if err == nil || !strings.Contains(stderr, "ValidationException") {
			t.Fatalf("put-events with 11 entries: %v, stderr %q; want a ValidationException", err, stderr)
		}
	})
}
