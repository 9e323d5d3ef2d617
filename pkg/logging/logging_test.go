package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
)

const (
	apiKey = "0123456789abcdef0123456789abcdef"
	appKey = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"
)

func TestRedaction(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"named attribute", func(l *slog.Logger) { l.Info("x", "apiKey", "short") }},
		{"snake case", func(l *slog.Logger) { l.Info("x", "application_key", "short") }},
		{"key-shaped value", func(l *slog.Logger) { l.Info("x", "detail", "got "+appKey) }},
		{"in message", func(l *slog.Logger) { l.Info("bad key " + apiKey) }},
		{"in error", func(l *slog.Logger) { l.Error("failed", "err", errors.New("rejected "+apiKey)) }},
		{"in group", func(l *slog.Logger) { l.Info("x", slog.Group("creds", "appKey", appKey)) }},
		{"with attrs", func(l *slog.Logger) { l.With("secretString", `{"k":1}`).Info("x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(New(&buf, slog.LevelDebug))
			out := buf.String()
			testkit.AssertNoKeyMaterial(t, out, apiKey, appKey, "short", `{\"k\":1}`)
			if !strings.Contains(out, Redacted) {
				t.Fatalf("expected %s in %s", Redacted, out)
			}
		})
	}
}

func TestRequestIDAndJSON(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, slog.LevelInfo)
	ctx := WithRequestID(context.Background(), "req-1")
	l.InfoContext(ctx, "hello", "applicationKeyId", "6f1c3a52-0000-4000-8000-000000000001")
	l.DebugContext(ctx, "dropped")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %v: %s", err, buf.String())
	}
	if rec["request_id"] != "req-1" || rec["msg"] != "hello" {
		t.Fatalf("record = %v", rec)
	}
	if rec["applicationKeyId"] != "6f1c3a52-0000-4000-8000-000000000001" {
		t.Fatalf("key ids must stay readable: %v", rec)
	}
	if RequestID(context.Background()) != "" {
		t.Fatal("empty context has a request id")
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"no keys here", "no keys here"},
		{"id 6f1c3a52-0000-4000-8000-000000000001 stays", "id 6f1c3a52-0000-4000-8000-000000000001 stays"},
		{apiKey, Redacted},
		{"a " + appKey + " b " + apiKey, "a " + Redacted + " b " + Redacted},
		{"x" + strings.Repeat("a", 30) + "-", "x" + strings.Repeat("a", 30) + "-"},
		{"ünïcode " + apiKey + "é", "ünïcode " + Redacted + "é"},
	}
	for i, tt := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if got := Scrub(tt.in); got != tt.want {
				t.Fatalf("case %d: Scrub = %q, want %q", i, shown(got), shown(tt.want))
			}
		})
	}
}

// shown shows a test string with its key-shaped runs cut to their length,
// so a failing test prints no key.
func shown(s string) string {
	runs := keyRuns(s)
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		s = s[:r[0]] + "<" + strconv.Itoa(r[1]-r[0]) + " chars>" + s[r[1]:]
	}
	return s
}
