package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// Redacted replaces every value the logger refuses to write.
const Redacted = "[REDACTED]"

type ctxKey struct{}

// WithRequestID returns a context whose log records carry id as request_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id stored by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// New returns a JSON logger writing to w at level and above. Records logged
// with a context carry its request id; attributes named like secrets and
// strings shaped like Datadog keys are replaced with Redacted.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr})
	return slog.New(&handler{Handler: h})
}

// handler adds the request id and scrubs the message.
type handler struct{ slog.Handler }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if keyShaped(r.Message) {
		r = slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	}
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{Handler: h.Handler.WithAttrs(as)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{Handler: h.Handler.WithGroup(name)}
}

// sensitive lists attribute names, lower-cased without separators, whose
// values are never logged.
var sensitive = map[string]bool{
	"apikey": true, "applicationkey": true, "appkey": true, "ddapikey": true, "ddapplicationkey": true,
	"secretstring": true, "secretvalue": true, "secret": true, "password": true, "authorization": true,
	"key": true, "rotationtoken": true,
}

// minKeyRun is the shortest run of ASCII letters and digits treated as key
// material: Datadog API keys are 32 hex characters, application keys 40
// alphanumerics. Ids are UUIDs, whose dashes break them into short runs.
const minKeyRun = 32

// keyRuns returns the [start, end) bounds of every key-shaped run in s.
func keyRuns(s string) [][2]int {
	var runs [][2]int
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minKeyRun {
			runs = append(runs, [2]int{start, i})
		}
		start = -1
	}
	return runs
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// keyShaped reports whether s holds a key-shaped run.
func keyShaped(s string) bool { return len(keyRuns(s)) > 0 }

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	name := strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(a.Key))
	if sensitive[name] {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if keyShaped(a.Value.String()) {
			return slog.String(a.Key, Scrub(a.Value.String()))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && keyShaped(err.Error()) {
			return slog.String(a.Key, Scrub(err.Error()))
		}
	}
	return a
}

// Scrub replaces key-shaped runs in s with Redacted.
func Scrub(s string) string {
	runs := keyRuns(s)
	if len(runs) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, r := range runs {
		b.WriteString(s[last:r[0]])
		b.WriteString(Redacted)
		last = r[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
