package rotationstate

import (
	"github.com/ddconn/ddconn/pkg/secretkind"
	"strconv"
	"strings"
	"time"
)

// RevokeMode says when a rotation revokes the application key it replaces.
type RevokeMode int

// The revocation modes.
const (
	// RevokeNextRotation (the default) keeps the replaced key valid until
	// the next rotation replaces its successor: exactly two keys stay valid,
	// and consumers caching the old value keep working for one interval.
	RevokeNextRotation RevokeMode = iota
	// RevokeImmediately revokes the replaced key as soon as the new one is
	// current.
	RevokeImmediately
	// RevokeAfter revokes the replaced key once a grace period has passed
	// (the sweeper does it).
	RevokeAfter
)

// Bounds of the "after:<duration>" grace period. The upper bound keeps the
// number of keys awaiting revocation, which live in the secret's tags, small.
const (
	minRevokeDelay = time.Minute
	maxRevokeDelay = 30 * 24 * time.Hour
)

// RevokePolicy is a connection's revokePrevious setting.
type RevokePolicy struct {
	Mode RevokeMode
	// After is the grace period of RevokeAfter.
	After time.Duration
}

// ParseRevokePolicy parses "next-rotation", "immediately" or
// "after:<duration>", where the duration is Go's syntax ("24h", "90m") or
// whole days ("7d"), between a minute and 30 days. "" means
// next-rotation.
func ParseRevokePolicy(s string) (RevokePolicy, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "next-rotation":
		return RevokePolicy{Mode: RevokeNextRotation}, nil
	case s == "immediately":
		return RevokePolicy{Mode: RevokeImmediately}, nil
	case strings.HasPrefix(s, "after:"):
		d, err := parseDelay(strings.TrimPrefix(s, "after:"))
		if err != nil {
			return RevokePolicy{}, err
		}
		return RevokePolicy{Mode: RevokeAfter, After: d}, nil
	}
	return RevokePolicy{}, &SettingError{"revokePrevious", `want "next-rotation", "immediately" or "after:<duration>" such as "after:24h"`}
}

func parseDelay(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < minRevokeDelay || d > maxRevokeDelay {
		return 0, &SettingError{"revokePrevious", "after: takes a duration from 1m to 30d, such as 24h or 7d"}
	}
	return d, nil
}

// String returns the setting in the form ParseRevokePolicy reads, with the
// grace period in its shortest whole unit ("after:24h", "after:90m").
func (p RevokePolicy) String() string {
	switch p.Mode {
	case RevokeImmediately:
		return "immediately"
	case RevokeAfter:
		return "after:" + shortDuration(p.After)
	}
	return "next-rotation"
}

func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// PolicyOf reads the connection's policy from its tags. A missing or
// unreadable tag means the default: revoking too late is safer than too soon.
func PolicyOf(tags map[string]string) RevokePolicy {
	p, err := ParseRevokePolicy(tags[secretkind.TagRevokePrevious])
	if err != nil {
		return RevokePolicy{Mode: RevokeNextRotation}
	}
	return p
}

// RetirementFor is the record that retires the key being demoted at now
// under policy p.
func (p RevokePolicy) RetirementFor(keyID string, now time.Time) Retirement {
	switch p.Mode {
	case RevokeImmediately:
		return Retirement{KeyID: keyID, Due: now.UTC()}
	case RevokeAfter:
		return Retirement{KeyID: keyID, Due: now.Add(p.After).UTC()}
	}
	return Retirement{KeyID: keyID}
}
