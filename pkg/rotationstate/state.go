package rotationstate

import (
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// State is what a user sees of a connection's rotation. It is read from the
// secret's metadata alone, without its value.
type State struct {
	// Enabled is Secrets Manager's RotationEnabled.
	Enabled bool `json:"enabled"`
	// Schedule is the rotation schedule ("rate(30 days)", "cron(…)"), "" if
	// none was ever set.
	Schedule string `json:"schedule"`
	// Window is the rotation window ("2h"), "" for Secrets Manager's default.
	Window string `json:"window"`
	// RevokePrevious is the revocation policy in ParseRevokePolicy's syntax.
	RevokePrevious string `json:"revokePrevious"`
	// MaxGrace and QuietPeriod are the when-unused policy's parameters;
	// absent for the other policies.
	MaxGrace    string `json:"maxGrace,omitempty"`
	QuietPeriod string `json:"quietPeriod,omitempty"`
	// LastRotatedAt and NextRotationAt come from Secrets Manager.
	LastRotatedAt  *time.Time `json:"lastRotatedAt"`
	NextRotationAt *time.Time `json:"nextRotationAt"`
	// InProgress is true while a rotation is incomplete: AWSPENDING is on a
	// version other than AWSCURRENT. Secrets Manager refuses to start another.
	InProgress bool `json:"inProgress"`
	// Step is, while InProgress, the rotation step running or next to run
	// (StepCreate … StepFinish); absent otherwise.
	Step string `json:"step,omitempty"`
	// LastError says why the last rotation step failed; "" after success.
	LastError string `json:"lastError"`
	// LastWarning says why revoking a retired key failed; the sweeper retries.
	LastWarning string `json:"lastWarning,omitempty"`
	// ForcedRevocation says which key maxGrace last revoked while Datadog
	// still reported it in use, and when.
	ForcedRevocation string `json:"forcedRevocation,omitempty"`
	// CurrentKeyID and PreviousKeyID are the ids of the AWSCURRENT key and of
	// the key the last rotation replaced ("" if unknown).
	CurrentKeyID  string `json:"currentApplicationKeyId"`
	PreviousKeyID string `json:"previousApplicationKeyId"`
	// PendingRevocations are retired keys not yet revoked.
	PendingRevocations []PendingRevocation `json:"pendingRevocations,omitempty"`
	// RevokeByHand, when set, says that a retired key (the one the user
	// supplied, whose id was never identified) must be revoked by hand.
	RevokeByHand string `json:"revokeByHand,omitempty"`
}

// PendingRevocation is a retired key awaiting revocation.
type PendingRevocation struct {
	// KeyID is the key's id; "" if it was never identified.
	KeyID string `json:"applicationKeyId"`
	// DueAt is when it may be revoked; nil means at the next rotation.
	// Under when-unused it is the maxGrace deadline.
	DueAt *time.Time `json:"dueAt"`
	// LastUsedAt, under when-unused, is when Datadog last reported the key
	// used, as of the last check (the sweeper's, hourly); absent if never.
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// RevokeIfUnusedAt, under when-unused, is when the key is revoked if
	// nothing uses it again.
	RevokeIfUnusedAt *time.Time `json:"revokeIfUnusedAt,omitempty"`
}

// StateOf reports the rotation state of a connection secret.
func StateOf(sec secretstore.Secret) State {
	t := sec.Tags
	policy := PolicyOf(t)
	st := State{
		Enabled:        sec.RotationEnabled,
		Schedule:       Schedule(sec.Rules),
		Window:         sec.Rules.Duration,
		RevokePrevious: policy.String(),
		MaxGrace:       policy.MaxGraceString(),
		QuietPeriod:    policy.QuietString(),
		LastRotatedAt:  sec.LastRotatedAt,
		NextRotationAt: sec.NextRotationAt,
		InProgress:     rotationInProgress(sec),
		Step:           stepInProgress(sec),
		LastError:      t[secretkind.TagLastError],
		LastWarning:    t[secretkind.TagLastWarning],
		CurrentKeyID:   t[secretkind.TagKeyID],
		PreviousKeyID:  t[secretkind.TagPreviousKeyID],
		RevokeByHand:   t[secretkind.TagRevokeByHand],

		ForcedRevocation: t[secretkind.TagForcedRevocation],
	}
	if !sec.RotationEnabled {
		// Secrets Manager keeps the last rotation date of a cancelled
		// rotation but no next date; report neither as scheduled.
		st.NextRotationAt = nil
	}
	for _, r := range Retirements(t) {
		p := PendingRevocation{KeyID: r.KeyID, DueAt: r.DueAt()}
		p.LastUsedAt = r.LastUsedAt
		if at := r.RevokeIfUnusedAt(); !at.IsZero() {
			p.RevokeIfUnusedAt = &at
		}
		st.PendingRevocations = append(st.PendingRevocations, p)
	}
	return st
}

// rotationInProgress reports whether AWSPENDING sits on a version other
// than AWSCURRENT: Secrets Manager's "previous rotation isn't complete".
func rotationInProgress(sec secretstore.Secret) bool {
	pending, ok := sec.VersionWith(secretstore.Pending)
	if !ok {
		return false
	}
	current, _ := sec.CurrentVersion()
	return pending != current
}
