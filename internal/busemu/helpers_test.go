package busemu

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/logcapture"
)

// fixedNow is the clock of most tests: 2025-03-04T05:06:07.89Z.
var fixedNow = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// newBus returns a Bus closed at the end of the test.
func newBus(t *testing.T, opts Options) *Bus {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func idle(t *testing.T, b *Bus) {
	t.Helper()
	if err := b.Idle(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func validEntry() Entry {
	return Entry{Source: "ddconn.test", DetailType: "Thing Happened", Detail: `{"id": 1}`}
}

// captureLogs returns a debug-level JSON logger and what it writes.
func captureLogs() (*slog.Logger, *logcapture.Buffer) {
	var buf logcapture.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}
