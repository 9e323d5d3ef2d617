package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) rotationCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "rotation",
		Short: "Show, turn on, change or turn off a connection's scheduled rotation",
		Long: `Rotation replaces a connection's Datadog application key on a schedule, through
Secrets Manager's rotation (docs/rotation.md). ` + "`ddconn rotate`" + ` rotates now.`,
		Example: `  ddconn rotation enable prod --schedule 'rate(30 days)' --window 2h --revoke-previous after:24h
  ddconn rotation show prod
  ddconn rotation disable prod`,
	}
	c.AddCommand(a.rotationShow(), a.rotationEnable(), a.rotationDisable(), a.rotationRollback())
	return c
}

func (a *app) rotationShow() *cobra.Command {
	return &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a connection's rotation settings and what the last rotations did",
		Example:           "  ddconn rotation show prod\n  ddconn rotation show prod -o json | jq -r .lastError",
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			conn, raw, err := a.getConnection(ctx, args[0])
			if err != nil {
				return err
			}
			var block struct {
				Rotation json.RawMessage `json:"rotation"`
			}
			if err := json.Unmarshal(raw, &block); err != nil {
				return fmt.Errorf("decoding the connection: %w", err)
			}
			return a.emit([]byte(block.Rotation), func(w io.Writer) { a.rotationRows(w, conn.Rotation) })
		}),
	}
}

// getConnection reads one connection.
func (a *app) getConnection(ctx context.Context, name string) (connection, []byte, error) {
	return call[connection](ctx, a, http.MethodGet, connPath(name), nil, nil)
}

func (a *app) rotationEnable() *cobra.Command {
	var (
		schedule, window, revoke string
		immediately              bool
	)
	c := &cobra.Command{
		Use:     "enable NAME --schedule EXPR [--window 2h] [--revoke-previous POLICY]",
		Aliases: []string{"update"},
		Short:   "Turn on scheduled rotation of a connection's application key, or change its settings",
		Long: `Turns rotation on (or changes its settings; ` + "`rotation update`" + ` is the same command).
--schedule: rate(N days), rate(N hours) (at least 4), cron(0 H DoM Mon DoW *) in UTC, or a
number of days. --revoke-previous: next-rotation (default), immediately, or after:DURATION
(1m to 30d, e.g. after:24h). By default the key is also rotated at once; with
--rotate-immediately=false the next rotation is the scheduled one.`,
		Example: `  ddconn rotation enable prod --schedule 'rate(30 days)'
  ddconn rotation enable prod --schedule 'cron(0 4 ? * MON *)' --window 2h --revoke-previous after:7d --rotate-immediately=false
  ddconn rotation update prod --schedule 'rate(7 days)'`,
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			if schedule == "" {
				return usageErrorf("--schedule is required, such as 'rate(30 days)'")
			}
			body := map[string]any{"schedule": schedule, "window": window, "rotateImmediately": immediately}
			if revoke != "" {
				body["revokePrevious"] = revoke
			}
			return a.showRotation(ctx, http.MethodPut, args[0], body)
		}),
	}
	c.Flags().StringVar(&schedule, "schedule", "", "when to rotate (required)")
	c.Flags().StringVar(&window, "window", "", "how long after the scheduled time a rotation may start, Nh (1-24)")
	c.Flags().StringVar(&revoke, "revoke-previous", "", "when a replaced key is revoked: next-rotation, immediately or after:DURATION")
	c.Flags().BoolVar(&immediately, "rotate-immediately", true, "also rotate now")
	_ = c.RegisterFlagCompletionFunc("revoke-previous", cobra.FixedCompletions(
		[]string{"next-rotation", "immediately", "after:24h", "after:7d"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// showRotation calls a rotation route that answers the connection and
// prints its rotation block.
func (a *app) showRotation(ctx context.Context, method, name string, body any) error {
	return a.showRotationAt(ctx, method, connPath(name)+"/rotation", body)
}

// showRotationAt sends method path body and shows the rotation block of
// the connection it answers with.
func (a *app) showRotationAt(ctx context.Context, method, path string, body any) error {
	conn, raw, err := call[connection](ctx, a, method, path, nil, body)
	if err != nil {
		return err
	}
	return a.emit(raw, func(w io.Writer) { a.rotationRows(w, conn.Rotation) })
}

func (a *app) rotationDisable() *cobra.Command {
	return &cobra.Command{
		Use:   "disable NAME",
		Short: "Turn off a connection's rotation (the settings are kept for the next enable)",
		Long: `Turns scheduled rotation off and clears a rotation that did not finish. The keys in
use do not change; a key the unfinished rotation created is deleted by the sweeper.`,
		Example:           "  ddconn rotation disable prod",
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			return a.showRotation(ctx, http.MethodDelete, args[0], nil)
		}),
	}
}

func (a *app) rotationRollback() *cobra.Command {
	return &cobra.Command{
		Use:   "rollback NAME",
		Short: "Make the previous key current again, when it still works",
		Long: `Moves AWSCURRENT back to the previous version (no new key is made) when its key still
works at Datadog, and retires the rolled-back key under the revocation policy. Refused
(exit 3) when the previous key is already revoked - rotate instead - or while a rotation
runs. A rollback swaps the keys: read the connection before repeating one whose answer
was lost.`,
		Example:           "  ddconn rotation rollback prod",
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			return a.showRotationAt(ctx, http.MethodPost, connPath(args[0])+"/rotation/rollback", nil)
		}),
	}
}

func (a *app) rotateCommand() *cobra.Command {
	var (
		wait    bool
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "rotate NAME [--wait]",
		Short: "Rotate a connection's application key now",
		Long: `Starts a rotation now (or resumes the one in progress). With --wait, follows it through
Secrets Manager's four steps (createSecret, setSecret, testSecret, finishSecret) with a
progress line on stderr until the new key is current, then prints the new key's id and
when the replaced one will be revoked; if a step fails, prints the rotation's lastError
and what to do next, and exits 7 (also when it has not finished within --wait-timeout).`,
		Example: `  ddconn rotate prod --wait
  ddconn rotate prod -o json | jq -r .versionId`,
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			return a.rotate(ctx, args[0], wait, timeout)
		}),
	}
	c.Flags().BoolVar(&wait, "wait", false, "follow the rotation until it finishes or fails")
	c.Flags().DurationVar(&timeout, "wait-timeout", 10*time.Minute, "with --wait: how long to follow the rotation")
	return c
}

// rotationResult is what `rotate --wait -o json` prints.
type rotationResult struct {
	Connection    string     `json:"connection"`
	VersionID     string     `json:"versionId"`
	Resumed       bool       `json:"resumed,omitempty"`
	Succeeded     bool       `json:"succeeded"`
	NewKeyID      string     `json:"newApplicationKeyId,omitempty"`
	PreviousKeyID string     `json:"previousApplicationKeyId,omitempty"`
	PreviousKey   string     `json:"previousKeyRevocation,omitempty"`
	RevokeAt      *time.Time `json:"previousKeyRevokedAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
}

func (a *app) rotate(ctx context.Context, name string, wait bool, timeout time.Duration) error {
	var before connection
	if wait {
		var err error
		if before, _, err = a.getConnection(ctx, name); err != nil {
			return err
		}
	}
	started, raw, err := call[rotateAnswer](ctx, a, http.MethodPost, connPath(name)+"/rotate", nil, nil)
	if err != nil {
		return err
	}
	if !wait {
		return a.emit(raw, func(w io.Writer) {
			verb := "started"
			if started.Resumed {
				verb = "resumed"
			}
			fmt.Fprintf(w, "rotation of %s %s (secret version %s)\n", name, verb, started.VersionID)
		})
	}
	after, err := a.follow(ctx, name, before.Rotation, started.Resumed, timeout)
	if errors.Is(err, errNoNewKey) {
		// The request joined the test run of `rotation enable
		// --rotate-immediately=false`, which has ended: ask again.
		if started, _, err = call[rotateAnswer](ctx, a, http.MethodPost, connPath(name)+"/rotate", nil, nil); err != nil {
			return err
		}
		after, err = a.follow(ctx, name, before.Rotation, false, timeout)
	}
	if err != nil {
		return err
	}
	res := rotationResult{Connection: name, VersionID: started.VersionID, Resumed: started.Resumed}
	r := after.Rotation
	if r.LastError != "" && r.LastError != before.Rotation.LastError {
		res.LastError = r.LastError
		if err := a.emit(res, func(w io.Writer) {
			fmt.Fprintf(w, "rotation of %s %s\n", name, a.paint(colourRed, "failed"))
			row(w, "LAST ERROR", oneLine(r.LastError, 600))
		}); err != nil {
			return err
		}
		return &failedError{msg: fmt.Sprintf("the rotation of %s failed. Secrets Manager retries it on its own; "+
			"`ddconn rotation show %s` shows how it goes. Once the cause is fixed (lastError names the step and the reason), "+
			"`ddconn rotate %s --wait` resumes it; `ddconn rotation disable %s` abandons it (the keys in use do not change).",
			name, name, name, name)}
	}
	res.Succeeded, res.NewKeyID, res.PreviousKeyID = true, r.CurrentKeyID, r.PreviousKeyID
	res.PreviousKey, res.RevokeAt = revocation(r)
	return a.emit(res, func(w io.Writer) {
		fmt.Fprintf(w, "rotation of %s %s\n", name, a.paint(colourGreen, "succeeded"))
		row(w, "NEW KEY ID", dash(res.NewKeyID))
		row(w, "PREVIOUS KEY ID", dash(res.PreviousKeyID))
		row(w, "PREVIOUS KEY", res.PreviousKey)
	})
}

// revocation says when the key a rotation replaced will be revoked, from
// the connection's revocation policy and pending revocations.
func revocation(r rotationBlock) (string, *time.Time) {
	if r.PreviousKeyID == "" {
		return "none: the connection had no identified key before", nil
	}
	for _, p := range r.PendingRevocations {
		if p.KeyID != r.PreviousKeyID {
			continue
		}
		if p.DueAt == nil {
			return "stays valid until the next rotation revokes it", nil
		}
		return "revoked by the sweeper from " + when(p.DueAt), p.DueAt
	}
	if r.RevokeByHand == r.PreviousKeyID {
		return "never identified by ddconn: revoke it yourself in Datadog", nil
	}
	if r.LastWarning != "" {
		return "revoking it failed (" + oneLine(r.LastWarning, 200) + "); the sweeper retries", nil
	}
	return "revoked", nil
}

// errNoNewKey is a resumed rotation that ended without a new key.
var errNoNewKey = errors.New("the rotation in progress ended without a new key")

// follow polls the connection until the rotation started after before has
// finished or failed, with a progress line on stderr, and returns the
// connection as it last read it. A resumed rotation that ends without a
// new key was the test run of `rotation enable --rotate-immediately=false`.
func (a *app) follow(ctx context.Context, name string, before rotationBlock, resumed bool, timeout time.Duration) (connection, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	progress := a.progress(name)
	defer progress.done()
	for {
		conn, _, err := a.getConnection(ctx, name)
		if err != nil {
			return conn, err
		}
		r := conn.Rotation
		switch {
		case r.LastError != "" && r.LastError != before.LastError:
			return conn, nil
		case !r.InProgress && (r.CurrentKeyID != before.CurrentKeyID || !sameTime(r.LastRotatedAt, before.LastRotatedAt)):
			return conn, nil
		case !r.InProgress && resumed:
			return conn, errNoNewKey
		}
		progress.update(stepPhase(r), time.Since(start))
		if time.Now().After(deadline) {
			return conn, &failedError{msg: fmt.Sprintf("the rotation of %s has not finished after %v: `ddconn rotation show %s` "+
				"shows how it goes; `ddconn rotate %s --wait` follows it again", name, timeout, name, name)}
		}
		select {
		case <-ctx.Done():
			return conn, ctx.Err()
		case <-time.After(a.pollInterval):
		}
	}
}

// rotationSteps are the values of the rotation block's step, in the order
// Secrets Manager runs them (docs/openapi.yaml), with what each does.
var rotationSteps = []struct{ name, doing string }{
	{"createSecret", "creating the new key"},
	{"setSecret", "checking the new key's owner and site"},
	{"testSecret", "testing the new key"},
	{"finishSecret", "making the new key current"},
}

// stepPhase is the progress line's text for a rotation block: the step
// it is at, as "step 3/4 testSecret: testing the new key". A rotation
// no longer in progress but not yet seen to end has promoted its key and
// is finishing.
func stepPhase(r rotationBlock) string {
	step := r.Step
	if !r.InProgress {
		step = rotationSteps[len(rotationSteps)-1].name
	}
	for i, s := range rotationSteps {
		if s.name == step {
			return fmt.Sprintf("step %d/%d %s: %s", i+1, len(rotationSteps), s.name, s.doing)
		}
	}
	return "in progress"
}

func sameTime(x, y *time.Time) bool {
	if x == nil || y == nil {
		return x == y
	}
	return x.Equal(*y)
}

// progressLine is the rotation's progress on stderr: one line rewritten in
// place on a terminal, a new line per change of phase elsewhere (CI logs).
type progressLine struct {
	a        *app
	name     string
	terminal bool
	last     string
	written  bool
}

func (a *app) progress(name string) *progressLine {
	return &progressLine{a: a, name: name, terminal: isTerminal(a.stdio.Stderr)}
}

func (p *progressLine) update(phase string, elapsed time.Duration) {
	if p.terminal {
		fmt.Fprintf(p.a.stdio.Stderr, "\r\x1b[Krotating %s: %s (%s)", p.name, phase, elapsed.Round(time.Second))
		p.written = true
		return
	}
	if phase != p.last {
		fmt.Fprintf(p.a.stdio.Stderr, "rotating %s: %s\n", p.name, phase)
		p.last = phase
	}
}

func (p *progressLine) done() {
	if p.terminal && p.written {
		fmt.Fprint(p.a.stdio.Stderr, "\r\x1b[K")
	}
}
