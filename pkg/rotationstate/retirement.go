package rotationstate

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// MaxPendingRetirements bounds the retirement tags of one secret, so they
// stay well within Secrets Manager's 50 tags per secret. A rotation that
// would exceed it fails before creating anything.
const MaxPendingRetirements = 20

// unidentifiedKey stands, in a retirement tag, for a key whose id was never
// identified (an empty applicationKeyId in its document).
const unidentifiedKey = "unidentified"

// untilUnreferenced is the due part of a next-rotation retirement tag.
const untilUnreferenced = "next-rotation"

// The prefixes of the owner part of a retirement tag's value.
const (
	userOwner           = "user:"
	serviceAccountOwner = "service-account:"
)

// Retirement records that a rotation retired an application key and when
// the key may be revoked. It is written to the secret's tags before the
// rotation promotes its new key, so the intent survives a crash between the
// promotion and the revocation (the record is the write-ahead log).
type Retirement struct {
	// KeyID is the key's id; "" means it was never identified, and the key
	// must be revoked by hand.
	KeyID string
	// Due is when the key may be revoked. The zero time means "once no
	// labelled version refers to it" (next-rotation).
	Due time.Time
	// Owner owns the key. The zero Owner means the owner of the secret's
	// AWSCURRENT key: an API key (which has no owner), or a record that
	// names no owner.
	Owner Owner
	// WhenUnused marks a retirement under the when-unused policy: the key
	// may go before Due (then its deadline, maxGrace) once Datadog reports
	// it unused for Quiet, measured from RetiredAt (the promotion) on.
	WhenUnused bool
	RetiredAt  time.Time
	Quiet      time.Duration
	// LastUsedAt is when Datadog last reported the key used, as the last
	// check read it; nil if it never did (or was never asked).
	LastUsedAt *time.Time
}

// The prefixes of the when-unused parts of a retirement tag's value.
const (
	whenUnusedPart = "when-unused@"
	lastUsedPart   = "last-used@"
)

// Owner is the user or service account owning a retired application key:
// only a key of that owner, or one that manages that service account's
// keys, can revoke it.
type Owner struct {
	ID             string
	ServiceAccount bool
}

// OwnerOf is the owner of the key document d holds.
func OwnerOf(d secretkind.Document) Owner {
	return Owner{ID: d.OwnerID, ServiceAccount: d.OwnerIsServiceAccount}
}

// String names the owner in messages ("user <id>", "service account <id>").
func (o Owner) String() string {
	if o.ServiceAccount {
		return "service account " + o.ID
	}
	return "user " + o.ID
}

// Tag returns the retirement's tag key and value. The value is the due part
// ("next-rotation" or an RFC 3339 time), then, when the owner is known, a
// space and "user:<id>" or "service-account:<id>"; a when-unused
// retirement adds "when-unused@<retired at>/<quiet period>" and, once a
// use was seen, "last-used@<time>".
func (r Retirement) Tag() (string, string) {
	id := r.KeyID
	if id == "" {
		id = unidentifiedKey
	}
	v := untilUnreferenced
	if !r.Due.IsZero() {
		v = r.Due.UTC().Format(time.RFC3339)
	}
	switch {
	case r.Owner.ID == "":
	case r.Owner.ServiceAccount:
		v += " " + serviceAccountOwner + r.Owner.ID
	default:
		v += " " + userOwner + r.Owner.ID
	}
	if r.WhenUnused {
		v += " " + whenUnusedPart + r.RetiredAt.UTC().Format(time.RFC3339) + "/" + shortDuration(r.Quiet)
		if r.LastUsedAt != nil {
			v += " " + lastUsedPart + r.LastUsedAt.UTC().Format(time.RFC3339)
		}
	}
	return secretkind.TagRetirePrefix + id, v
}

// TagKey is the retirement's tag key.
func (r Retirement) TagKey() string { k, _ := r.Tag(); return k }

// DueAt is Due, or nil when the retirement has no due date (it waits
// for the next rotation).
func (r Retirement) DueAt() *time.Time {
	if r.Due.IsZero() {
		return nil
	}
	due := r.Due
	return &due
}

// RetiredKeyIDs are the key ids of Retirements(tags).
func RetiredKeyIDs(tags map[string]string) []string {
	var ids []string
	for _, r := range Retirements(tags) {
		ids = append(ids, r.KeyID)
	}
	return ids
}

// Retirements returns the retirements recorded in a secret's tags, ordered
// by key id. An unreadable due date counts as due: a stuck record is
// preferred to a forgotten key, and the revocation still checks use. A
// value without an owner part has the zero Owner; an owner part without a
// known prefix is read as a user's id, so it never stands for the current
// owner by mistake.
func Retirements(tags map[string]string) []Retirement {
	var out []Retirement
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		id, ok := strings.CutPrefix(k, secretkind.TagRetirePrefix)
		if !ok || id == "" {
			continue
		}
		r := Retirement{KeyID: id}
		if id == unidentifiedKey {
			r.KeyID = ""
		}
		fields := strings.Fields(tags[k])
		due := untilUnreferenced
		if len(fields) > 0 {
			due = fields[0]
			fields = fields[1:]
		}
		if due != untilUnreferenced {
			r.Due, _ = time.Parse(time.RFC3339, due)
			if r.Due.IsZero() {
				r.Due = time.Unix(0, 0).UTC()
			}
		}
		var owner []string
		for _, f := range fields {
			if !r.readWhenUnused(f) {
				owner = append(owner, f)
			}
		}
		r.Owner = parseOwner(strings.Join(owner, " "))
		out = append(out, r)
	}
	return out
}

// readWhenUnused reads f if it is a when-unused part of a tag's value. An
// unreadable time or period counts as none: the retirement is then due at
// Due, or, without a usable RetiredAt, at once after Due's check.
func (r *Retirement) readWhenUnused(f string) bool {
	switch {
	case strings.HasPrefix(f, whenUnusedPart):
		at, quiet, _ := strings.Cut(strings.TrimPrefix(f, whenUnusedPart), "/")
		r.WhenUnused = true
		r.RetiredAt, _ = time.Parse(time.RFC3339, at)
		r.Quiet, _ = time.ParseDuration(quiet)
		return true
	case strings.HasPrefix(f, lastUsedPart):
		if t, err := time.Parse(time.RFC3339, strings.TrimPrefix(f, lastUsedPart)); err == nil {
			r.LastUsedAt = &t
		}
		return true
	}
	return false
}

// parseOwner reads the owner part of a retirement tag's value; "" is the
// zero Owner, and a part it cannot read is a user named by the whole part.
func parseOwner(s string) Owner {
	if id, ok := strings.CutPrefix(s, serviceAccountOwner); ok && id != "" {
		return Owner{ID: id, ServiceAccount: true}
	}
	if id, ok := strings.CutPrefix(s, userOwner); ok && id != "" {
		return Owner{ID: id}
	}
	return Owner{ID: s}
}

// Ready reports whether the retired key may be revoked at now, given the
// staging labels of the versions that hold it. A key is never revoked while
// AWSCURRENT or AWSPENDING holds it; a next-rotation retirement also waits
// until AWSPREVIOUS no longer does.
//
// A when-unused retirement is ready as soon as no live version holds the
// key: whether its key is revoked before Due depends on its use, which
// the caller reads from Datadog (UnusedAt).
func (r Retirement) Ready(now time.Time, labels []string) bool {
	if r.Due.IsZero() {
		return len(labels) == 0
	}
	live := slices.Contains(labels, secretstore.Current) || slices.Contains(labels, secretstore.Pending)
	if r.WhenUnused && r.KeyID != "" {
		return !live
	}
	return !now.Before(r.Due) && !live
}

// UnusedAt reports whether a when-unused retirement's key has gone unused
// for its quiet period at now: since the later of its retirement and its
// last use. An unreadable quiet period counts as DefaultQuietPeriod.
func (r Retirement) UnusedAt(now time.Time) bool {
	at := r.quietEnd()
	return !at.IsZero() && !now.Before(at)
}

// quietEnd is when the key's quiet period ends if it is not used again:
// a quiet period after the later of its retirement and its last use. The
// zero time when its retirement time is unknown.
func (r Retirement) quietEnd() time.Time {
	if r.RetiredAt.IsZero() {
		return time.Time{}
	}
	since := r.RetiredAt
	if r.LastUsedAt != nil && r.LastUsedAt.After(since) {
		since = *r.LastUsedAt
	}
	quiet := r.Quiet
	if quiet <= 0 {
		quiet = DefaultQuietPeriod
	}
	return since.Add(quiet)
}

// RevokeIfUnusedAt is when a when-unused retirement's key is revoked if it
// is not used again: a quiet period after its retirement or last use, and
// no later than Due. The zero time for other retirements.
func (r Retirement) RevokeIfUnusedAt() time.Time {
	at := r.quietEnd()
	if !r.WhenUnused || at.IsZero() {
		return time.Time{}
	}
	if !r.Due.IsZero() && r.Due.Before(at) {
		return r.Due
	}
	return at
}

// Observe records lastUsed, the key's last use as Datadog reports it now,
// rounded up to the second a tag keeps; it reports whether that changes
// the record (and so its tag).
func (r *Retirement) Observe(lastUsed *time.Time) bool {
	var t *time.Time
	if lastUsed != nil {
		c := ceilSecond(*lastUsed)
		t = &c
	}
	if (t == nil) == (r.LastUsedAt == nil) && (t == nil || t.Equal(*r.LastUsedAt)) {
		return false
	}
	r.LastUsedAt = t
	return true
}
