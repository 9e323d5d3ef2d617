package access

import (
	"context"
	"log/slog"
)

// AuditMarker is the attribute every audit record carries ("audit": true),
// for a log subscription or pipeline to pick the records out.
const AuditMarker = "audit"

// Record is one audit record: who did what to which target, and how it
// ended. It never holds key material.
type Record struct {
	// Action names the operation: an HTTP route ("POST /connections/{name}/rotate"),
	// a provisioning request kind, a rotation step or a sweeper action.
	Action string
	// Target is the connection, or "<connection>/<kind>/<key>" for a
	// managed key.
	Target string
	// Team is the target's team, when known.
	Team string
	// Outcome is "allowed", "refused" (forbidden or hidden) or "failed".
	Outcome string
	// Status is the HTTP status, when there is one; Code the error code.
	Status int
	Code   string
}

// Outcomes of a Record.
const (
	OutcomeAllowed = "allowed"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

// Actor is the actor of ddconn's own work in audit records.
const Actor = "ddconn"

// Audit writes r for the caller of ctx (ddconn itself when it has none) as
// one JSON record marked AuditMarker; the request id comes from the
// logger's context.
func Audit(ctx context.Context, log *slog.Logger, r Record) {
	attrs := []slog.Attr{slog.Bool(AuditMarker, true), slog.String("action", r.Action), slog.String("outcome", r.Outcome)}
	if c, ok := CallerFrom(ctx); ok {
		attrs = append(attrs, slog.String("actor_kind", c.Kind))
		for _, a := range []struct{ k, v string }{{"principal", c.Principal}, {"session", c.Session}, {"account", c.Account}, {"bus", c.Bus}} {
			if a.v != "" {
				attrs = append(attrs, slog.String(a.k, a.v))
			}
		}
		if len(c.Groups) > 0 {
			attrs = append(attrs, slog.Any("groups", c.Groups))
		}
		attrs = append(attrs, slog.Bool("admin", c.Admin), slog.Any("teams", c.Teams))
	} else {
		attrs = append(attrs, slog.String("actor_kind", Actor))
	}
	for _, a := range []struct{ k, v string }{{"target", r.Target}, {"team", r.Team}, {"error_code", r.Code}} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, a.v))
		}
	}
	if r.Status != 0 {
		attrs = append(attrs, slog.Int("status", r.Status))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

type noteKey struct{}

// Note is what the services record, for the audit record of a request,
// about the connection it works on.
type Note struct {
	// Target names what the request works on, when the transport cannot
	// tell from the request alone (an event's detail).
	Target string
	// Team is the connection's team.
	Team string
	// Hidden is true when the connection exists but the caller may not
	// see it: the request was answered as for a missing connection.
	Hidden bool
}

// WithNote returns a context in which NoteTeam and NoteHidden record into
// the returned Note.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// NoteTarget records what ctx's request works on.
func NoteTarget(ctx context.Context, target string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.Target = target
	}
}

// NoteTeam records the team of the connection ctx's request works on.
func NoteTeam(ctx context.Context, team string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.Team = team
	}
}

// NoteHidden records that ctx's request was refused a connection of team
// it may not see.
func NoteHidden(ctx context.Context, team string) {
	if n, ok := ctx.Value(noteKey{}).(*Note); ok {
		n.Team, n.Hidden = team, true
	}
}
