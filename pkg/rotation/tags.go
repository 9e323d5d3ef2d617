package rotation

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/connection"
)

// Tags the rotation function reads and writes on a connection secret. Values
// stay within Secrets Manager's tag alphabet and 256 characters.
const (
	// TagRevokePrevious holds the connection's RevokePolicy (its String form).
	// Absent means next-rotation.
	TagRevokePrevious = "ddconn:revoke-previous"
	// TagLastError holds why the last rotation step failed, without key
	// material. A completed rotation removes it.
	TagLastError = "ddconn:last-error"
	// TagLastWarning holds why the last revocation of a retired key failed.
	// The rotation that retired the key still succeeded; the sweeper
	// retries, and removes the tag once every due revocation is done.
	TagLastWarning = "ddconn:last-warning"
	// TagApplicationKeyID holds the id of the AWSCURRENT application key
	// (shared with package connection, which sets it at creation).
	TagApplicationKeyID = connection.TagApplicationKeyID
	// TagPreviousApplicationKeyID holds the id of the key the last rotation
	// replaced (the AWSPREVIOUS version's key).
	TagPreviousApplicationKeyID = "ddconn:previous-application-key-id"
	// TagRevokeByHand is set when a retired key must be revoked by hand:
	// the key the user supplied, whose id ddconn never identified. ddconn
	// never guesses which key that is.
	TagRevokeByHand = "ddconn:revoke-by-hand"
	// TagRetirePrefix starts the tags that record retired keys awaiting
	// revocation, one per key: "ddconn:retire:<key id>" (see Retirement).
	TagRetirePrefix = "ddconn:retire:"
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

// tag returns the retirement's tag key and value.
func (r Retirement) tag() (string, string) {
	id := r.KeyID
	if id == "" {
		id = unidentifiedKey
	}
	if r.Due.IsZero() {
		return TagRetirePrefix + id, untilUnreferenced
	}
	return TagRetirePrefix + id, r.Due.UTC().Format(time.RFC3339)
}

func (r Retirement) tagKey() string { k, _ := r.tag(); return k }

// Retirements returns the retirements recorded in a secret's tags, ordered
// by key id. An unreadable due date counts as due: a stuck record is
// preferred to a forgotten key, and the revocation still checks use.
func Retirements(tags map[string]string) []Retirement {
	var out []Retirement
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		id, ok := strings.CutPrefix(k, TagRetirePrefix)
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

// ready reports whether the retired key may be revoked at now. A key is
// never revoked while AWSCURRENT or AWSPENDING refers to it; a next-rotation
// retirement also waits until AWSPREVIOUS no longer does.
func (r Retirement) ready(now time.Time, s Snapshot) bool {
	if r.Due.IsZero() {
		return len(s.Labels(r.KeyID)) == 0
	}
	return !now.Before(r.Due) && !s.live(r.KeyID)
}

// tagValue makes s a valid Secrets Manager tag value: characters outside the
// tag alphabet (letters, digits, spaces and _.:/=+-@) become spaces, and the
// result is cut to 256 bytes.
func tagValue(s string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" _.:/=+-@", r) {
			return r
		}
		return ' '
	}, s)
	clean = strings.Join(strings.Fields(clean), " ")
	if len(clean) > 256 {
		clean = clean[:256]
	}
	return clean
}
