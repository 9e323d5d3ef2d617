package logging

import (
	"context"
	"io"
	"log/slog"
	"regexp"
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
	if keyShaped.MatchString(r.Message) {
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

// keyShaped matches runs that look like Datadog API keys (32 hex) or
// application keys (40 alphanumerics). Ids are UUIDs, with dashes, and do not
// match.
var keyShaped = regexp.MustCompile(`[0-9A-Za-z]{32,}`)

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	name := strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(a.Key))
	if sensitive[name] {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if keyShaped.MatchString(a.Value.String()) {
			return slog.String(a.Key, Scrub(a.Value.String()))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok && keyShaped.MatchString(err.Error()) {
			return slog.String(a.Key, Scrub(err.Error()))
		}
	}
	return a
}

// Scrub replaces key-shaped runs in s with Redacted.
func Scrub(s string) string { return keyShaped.ReplaceAllString(s, Redacted) }
