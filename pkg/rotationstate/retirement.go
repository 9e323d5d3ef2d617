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

// untilUnreferenced is the value of a next-rotation retirement tag.
const untilUnreferenced = "next-rotation"

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
}

// Tag returns the retirement's tag key and value.
func (r Retirement) Tag() (string, string) {
	id := r.KeyID
	if id == "" {
		id = unidentifiedKey
	}
	if r.Due.IsZero() {
		return secretkind.TagRetirePrefix + id, untilUnreferenced
	}
	return secretkind.TagRetirePrefix + id, r.Due.UTC().Format(time.RFC3339)
}

// TagKey is the retirement's tag key.
func (r Retirement) TagKey() string { k, _ := r.Tag(); return k }

// Retirements returns the retirements recorded in a secret's tags, ordered
// by key id. An unreadable due date counts as due: a stuck record is
// preferred to a forgotten key, and the revocation still checks use.
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
		if v := tags[k]; v != untilUnreferenced {
			r.Due, _ = time.Parse(time.RFC3339, v)
			if r.Due.IsZero() {
				r.Due = time.Unix(0, 0).UTC()
			}
		}
		out = append(out, r)
	}
	return out
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
