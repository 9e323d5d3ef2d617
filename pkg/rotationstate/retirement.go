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
}

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
// space and "user:<id>" or "service-account:<id>".
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
	return secretkind.TagRetirePrefix + id, v
}

// TagKey is the retirement's tag key.
func (r Retirement) TagKey() string { k, _ := r.Tag(); return k }

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
		due, owner, _ := strings.Cut(strings.TrimSpace(tags[k]), " ")
		if due != untilUnreferenced {
			r.Due, _ = time.Parse(time.RFC3339, due)
			if r.Due.IsZero() {
				r.Due = time.Unix(0, 0).UTC()
			}
		}
		r.Owner = parseOwner(strings.TrimSpace(owner))
		out = append(out, r)
	}
	return out
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
func (r Retirement) Ready(now time.Time, labels []string) bool {
	if r.Due.IsZero() {
		return len(labels) == 0
	}
	return !now.Before(r.Due) && !slices.Contains(labels, secretstore.Current) && !slices.Contains(labels, secretstore.Pending)
}
