package connection

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// RotationSettings are the settings of PUT /connections/{name}/rotation,
// already parsed (by rotationstate.ParseSchedule and rotationstate.ParseRevokePolicy).
type RotationSettings struct {
	// Rules is the schedule and window given to Secrets Manager.
	Rules secretstore.RotationRules
	// RevokePrevious is the policy in its canonical form, stored as
	// secretkind.TagRevokePrevious.
	RevokePrevious string
	// RotateImmediately starts a rotation now; false only tests the
	// rotation function and rotates at the next scheduled time.
	RotateImmediately bool
}

// RotationStarted answers POST /connections/{name}/rotate.
type RotationStarted struct {
	// VersionID is the secret version the rotation is creating.
	VersionID string `json:"versionId"`
	// Resumed is true when no new rotation started: one was already under
	// way (a concurrent request started it, or Secrets Manager is retrying
	// it), or it had stopped after Secrets Manager's retries and was asked
	// to go on. VersionID is then that rotation's.
	Resumed bool `json:"resumed,omitempty"`
}

// EnableRotation turns on scheduled rotation of connection name (or
// changes its settings) with Secrets Manager's RotateSecret.
func (s *Service) EnableRotation(ctx context.Context, name string, in RotationSettings) (Connection, error) {
	if s.rotationFunctionARN == "" {
		return Connection{}, &Error{Kind: ErrRotationUnavailable,
			Message: "rotation is not configured on this deployment (no rotation function ARN)"}
	}
	sec, err := s.rotatable(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	if err := s.checkNotShared(ctx, name, sec); err != nil {
		return Connection{}, err
	}
	// The policy is in place before RotateSecret, so a rotation that starts
	// at once already revokes by it.
	if err := s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagRevokePrevious: in.RevokePrevious}); err != nil {
		return Connection{}, s.rotationFailure(name, err)
	}
	immediately := in.RotateImmediately
	rules := in.Rules
	_, err = s.store.Rotate(ctx, sec.ARN, secretstore.RotateInput{
		LambdaARN: s.rotationFunctionARN, Rules: &rules, RotateImmediately: &immediately, Token: newToken(),
	})
	if err != nil {
		return Connection{}, s.rotationFailure(name, err)
	}
	s.log.InfoContext(ctx, "rotation enabled", "connection", name, "schedule", rules.ScheduleExpression,
		"after_days", rules.AutomaticallyAfterDays, "window", rules.Duration,
		"revoke_previous", in.RevokePrevious, "rotate_immediately", immediately)
	return s.Get(ctx, name)
}

// DisableRotation turns off rotation of connection name
// (CancelRotateSecret). An incomplete rotation's version loses its
// AWSPENDING label, which would otherwise block every later rotation; the
// application key it may hold is then unreferenced, and the sweeper deletes
// it.
func (s *Service) DisableRotation(ctx context.Context, name string) (Connection, error) {
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	if sec.RotationEnabled {
		if _, err := s.store.CancelRotation(ctx, sec.ARN); err != nil {
			return Connection{}, s.rotationFailure(name, err)
		}
	}
	if err := s.dropOrphanedPending(ctx, name, sec.ARN); err != nil {
		return Connection{}, err
	}
	s.log.InfoContext(ctx, "rotation disabled", "connection", name)
	return s.Get(ctx, name)
}

// dropOrphanedPending removes AWSPENDING from a version other than
// AWSCURRENT. It reads the secret afresh: the label sits where the
// cancelled rotation left it, and once rotation is off no step can move it.
// AWSPENDING on the AWSCURRENT version is a finished rotation's legal end
// state and stays.
func (s *Service) dropOrphanedPending(ctx context.Context, name, arn string) error {
	sec, err := s.store.Describe(ctx, arn)
	if err != nil {
		return s.rotationFailure(name, err)
	}
	pending, ok := sec.VersionWith(secretstore.Pending)
	if current, _ := sec.CurrentVersion(); !ok || pending == current {
		return nil
	}
	if err := s.store.MoveStage(ctx, arn, secretstore.Pending, "", pending); err != nil {
		return s.rotationFailure(name, err)
	}
	s.log.InfoContext(ctx, "incomplete rotation cleared", "connection", name, "version_id", pending)
	return nil
}

// RotateNow starts a rotation of connection name at once, with the
// settings of EnableRotation, and returns the version it creates. The
// rotation runs asynchronously: its outcome shows in the rotation block.
//
// Requests never pile up rotations: while a rotation is incomplete, a
// request resumes it instead (RotateSecret makes Secrets Manager attempt it
// again, which also recovers one whose retries were spent), and concurrent
// requests answer the one rotation they share. A rotation that would
// retire more keys than may await revocation, or that follows the last one
// by less than Options.MinRotateInterval, is refused before anything
// starts, saying when it becomes possible.
func (s *Service) RotateNow(ctx context.Context, name string) (RotationStarted, error) {
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return RotationStarted{}, err
	}
	if err := cannotRotate(name, sec.Tags); err != nil {
		return RotationStarted{}, err
	}
	if !sec.RotationEnabled {
		return RotationStarted{}, &Error{Kind: ErrRotationDisabled, Message: fmt.Sprintf(
			"rotation is not enabled for connection %q; enable it first with PUT /connections/%s/rotation", name, name)}
	}
	if pending, ok := incomplete(sec); ok {
		return s.resume(ctx, name, sec.ARN, pending)
	}
	if err := s.checkNotShared(ctx, name, sec); err != nil {
		return RotationStarted{}, err
	}
	if err := s.tooSoon(name, sec); err != nil {
		return RotationStarted{}, err
	}
	version, err := s.store.Rotate(ctx, sec.ARN, secretstore.RotateInput{Token: newToken()})
	if errors.Is(err, secretstore.ErrRotationInProgress) {
		return s.resumeLatest(ctx, name, sec.ARN) // a concurrent request started one
	}
	if err != nil {
		return RotationStarted{}, s.rotationFailure(name, err)
	}
	s.log.InfoContext(ctx, "rotation started", "connection", name, "version_id", version)
	return RotationStarted{VersionID: version}, nil
}

// incomplete returns the version of an incomplete rotation: AWSPENDING on
// a version other than AWSCURRENT.
func incomplete(sec secretstore.Secret) (string, bool) {
	pending, ok := sec.VersionWith(secretstore.Pending)
	if current, _ := sec.CurrentVersion(); !ok || pending == current {
		return "", false
	}
	return pending, true
}

// resume asks Secrets Manager to attempt the incomplete rotation of
// version pending again: RotateSecret answers "a previous rotation isn't
// complete; that rotation will be reattempted".
func (s *Service) resume(ctx context.Context, name, arn, pending string) (RotationStarted, error) {
	_, err := s.store.Rotate(ctx, arn, secretstore.RotateInput{Token: newToken()})
	if err != nil && !errors.Is(err, secretstore.ErrRotationInProgress) {
		return RotationStarted{}, s.rotationFailure(name, err)
	}
	s.log.InfoContext(ctx, "rotation resumed", "connection", name, "version_id", pending)
	return RotationStarted{VersionID: pending, Resumed: true}, nil
}

// resumeLatest reads the secret again and resumes the rotation a
// concurrent request started.
func (s *Service) resumeLatest(ctx context.Context, name, arn string) (RotationStarted, error) {
	sec, err := s.store.Describe(ctx, arn)
	if err != nil {
		return RotationStarted{}, s.rotationFailure(name, err)
	}
	if pending, ok := incomplete(sec); ok {
		return RotationStarted{VersionID: pending, Resumed: true}, nil
	}
	return RotationStarted{}, rotationInProgress(name, nil)
}

// tooSoon refuses a rotation that may not start yet: the last one finished
// less than MinRotateInterval ago (consumers that cached the key it
// replaced get that long before the next rotation can revoke it), or the
// keys awaiting revocation are at their limit (the rotation could not
// record the key it retires).
func (s *Service) tooSoon(name string, sec secretstore.Secret) error {
	now := s.now()
	if last := sec.LastRotatedAt; last != nil && s.minRotateInterval > 0 {
		if next := last.Add(s.minRotateInterval); now.Before(next) && !now.Before(*last) {
			return &Error{Kind: ErrTooSoon, Message: fmt.Sprintf(
				"connection %q was rotated at %s; the next rotation is possible from %s (at least %s apart)",
				name, last.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339), s.minRotateInterval)}
		}
	}
	retired := rotationstate.Retirements(sec.Tags)
	if len(retired) < rotationstate.MaxPendingRetirements {
		return nil
	}
	msg := fmt.Sprintf("connection %q has %d retired keys awaiting revocation, the most a rotation may leave", name, len(retired))
	if due, ok := earliestDue(retired); ok {
		msg += fmt.Sprintf("; the next rotation is possible once the first of them is revoked, from %s", due.UTC().Format(time.RFC3339))
	} else {
		msg += "; they are revoked at the next rotation of their successors - revoke one first"
	}
	return &Error{Kind: ErrTooSoon, Message: msg}
}

// earliestDue is the first due time among retirements that have one.
func earliestDue(rs []rotationstate.Retirement) (time.Time, bool) {
	var first time.Time
	for _, r := range rs {
		if !r.Due.IsZero() && (first.IsZero() || r.Due.Before(first)) {
			first = r.Due
		}
	}
	return first, !first.IsZero()
}

// rotatable reads a live connection that may start a rotation: its key can
// replace itself, and no rotation is in progress.
func (s *Service) rotatable(ctx context.Context, name string) (secretstore.Secret, error) {
	sec, err := s.describeLive(ctx, name)
	if err != nil {
		return secretstore.Secret{}, err
	}
	if err := cannotRotate(name, sec.Tags); err != nil {
		return secretstore.Secret{}, err
	}
	if pending, ok := sec.VersionWith(secretstore.Pending); ok {
		if current, _ := sec.CurrentVersion(); pending != current {
			return secretstore.Secret{}, rotationInProgress(name, nil)
		}
	}
	return sec, nil
}

// cannotRotate explains why a connection's key cannot replace itself, or
// returns nil when it can. The rotation function authenticates as the key's
// owner and creates the new key with the old one's scopes, so it needs
// user_app_keys and a key it could identify.
func cannotRotate(name string, tags map[string]string) error {
	if capabilitiesFromTags(tags).RotateOwnKey {
		return nil
	}
	msg := lookupWarning(keyLookup(tags[secretkind.TagKeyLookup]))
	if keyLookup(tags[secretkind.TagKeyLookup]) == lookupFound {
		msg = "the application key lacks the " + permUserAppKeys + " permission, so it cannot create its replacement"
	}
	return &Error{Kind: ErrInvalid, Message: fmt.Sprintf("connection %q cannot be rotated", name),
		Details: []FieldError{{Field: "capabilities.rotateOwnKey", Message: msg}}}
}

// rotationFailure maps a failed rotation call to the error users see.
func (s *Service) rotationFailure(name string, err error) error {
	switch {
	case errors.Is(err, secretstore.ErrRotationInProgress):
		return rotationInProgress(name, err)
	case errors.Is(err, secretstore.ErrNotFound), errors.Is(err, secretstore.ErrPendingDeletion):
		return notFound(name, err)
	default:
		return storeFailure("configuring rotation of connection "+name, err)
	}
}

// newToken returns a fresh ClientRequestToken, a random (version 4) UUID as
// Secrets Manager recommends: each request is a new rotation, never a replay
// of an earlier one.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// sharers returns the other connections whose current application key is
// keyID (TagKeyID), by name; those the caller of ctx may not see are
// counted as one entry ("N connection(s) of other teams"), unnamed.
func (s *Service) sharers(ctx context.Context, name, keyID string) ([]string, error) {
	if keyID == "" {
		return nil, nil
	}
	secs, err := s.store.WithTag(ctx, s.prefix, secretkind.TagKeyID, keyID)
	if err != nil {
		return nil, storeFailure("looking for other connections holding the key of "+name, err)
	}
	var out []string
	hidden := 0
	for _, sec := range secs {
		n, ok := secretkind.ParseName(s.prefix, sec.Name)
		switch {
		case !ok || n.Managed() || n.Connection == name:
		case !access.Sees(ctx, sec.Tags[secretkind.TagTeam]):
			hidden++
		default:
			out = append(out, n.Connection)
		}
	}
	slices.Sort(out)
	if hidden > 0 {
		out = append(out, fmt.Sprintf("%d connection(s) of other teams", hidden))
	}
	return out, nil
}

// checkNotShared refuses to rotate a key other connections hold: the
// rotation would in time revoke it, and break them.
func (s *Service) checkNotShared(ctx context.Context, name string, sec secretstore.Secret) error {
	others, err := s.sharers(ctx, name, sec.Tags[secretkind.TagKeyID])
	if err != nil || len(others) == 0 {
		return err
	}
	return &Error{Kind: ErrKeyShared, Message: fmt.Sprintf(
		"the application key of connection %q is also stored in connection(s) %s, and rotating it would revoke their key; "+
			"give each connection a key of its own first (PATCH its credentials)", name, strings.Join(others, ", "))}
}

// sharedKeyWarning names the other connections that hold keyID.
func sharedKeyWarning(others []string) string {
	return "the application key is also stored in connection(s) " + strings.Join(others, ", ") +
		": ddconn will not rotate it while another connection holds it"
}
