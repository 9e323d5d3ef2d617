package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
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
			for _, secret := range []string{apiKey, appKey, "short", `{\"k\":1}`} {
				if strings.Contains(out, secret) {
					t.Fatalf("log line leaks %q: %s", secret[:4], out)
				}
			}
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
