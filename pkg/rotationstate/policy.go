package rotationstate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"

	"github.com/ddconn/ddconn/pkg/duration"
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
	// RevokeWhenUnused revokes the replaced key once Datadog reports it
	// unused for the quiet period, measured from the promotion on, or
	// once MaxGrace has passed, whichever comes first.
	RevokeWhenUnused
)

// Defaults of the when-unused policy.
const (
	// DefaultQuietPeriod is how long a replaced key must go unused before
	// when-unused revokes it: longer than Datadog takes to report a use.
	DefaultQuietPeriod = time.Hour
	// DefaultMaxGrace is when-unused's deadline when none is given.
	DefaultMaxGrace = 7 * 24 * time.Hour
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
	// MaxGrace and Quiet are RevokeWhenUnused's deadline and quiet period.
	MaxGrace, Quiet time.Duration
}

// The words of the when-unused policy: its name, and the parameters of
// its stored form (RevokePolicy.Tag).
const (
	whenUnused    = "when-unused"
	maxGraceParam = "max-grace="
	quietParam    = "quiet="
)

// ParseRevokePolicy parses "next-rotation", "immediately",
// "after:<duration>" or "when-unused", where the duration is Go's syntax
// ("24h", "90m") or whole days ("7d"), between a minute and 30 days. ""
// means next-rotation. It also reads the stored form of when-unused,
// "when-unused max-grace=<duration> quiet=<duration>" (RevokePolicy.Tag);
// plain "when-unused" has DefaultMaxGrace and DefaultQuietPeriod.
func ParseRevokePolicy(s string) (RevokePolicy, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "next-rotation":
		return RevokePolicy{Mode: RevokeNextRotation}, nil
	case s == "immediately":
		return RevokePolicy{Mode: RevokeImmediately}, nil
	case strings.HasPrefix(s, "after:"):
		d, err := parseDelay("revokePrevious", "after:", strings.TrimPrefix(s, "after:"))
		if err != nil {
			return RevokePolicy{}, err
		}
		return RevokePolicy{Mode: RevokeAfter, After: d}, nil
	case strings.HasPrefix(s, whenUnused):
		return parseWhenUnused(s)
	}
	return RevokePolicy{}, &SettingError{"revokePrevious", `want "next-rotation", "immediately", "after:<duration>" such as "after:24h", or "when-unused"`}
}

// parseWhenUnused reads "when-unused", optionally followed by its stored
// parameters.
func parseWhenUnused(s string) (RevokePolicy, error) {
	fields := strings.Fields(s)
	maxGrace, quiet := "", ""
	for _, f := range fields[1:] {
		switch {
		case strings.HasPrefix(f, maxGraceParam):
			maxGrace = strings.TrimPrefix(f, maxGraceParam)
		case strings.HasPrefix(f, quietParam):
			quiet = strings.TrimPrefix(f, quietParam)
		default:
			fields[0] = "" // not the when-unused syntax
		}
	}
	if fields[0] != whenUnused {
		return RevokePolicy{}, &SettingError{"revokePrevious", `want "when-unused", with maxGrace and quietPeriod as settings of their own`}
	}
	return ParseRevokeSettings(whenUnused, maxGrace, quiet)
}

// ParseRevokeSettings parses the revocation settings of the API:
// revokePrevious (ParseRevokePolicy's syntax), and, for "when-unused" only,
// maxGrace (a duration from 1m to 30d; "" is DefaultMaxGrace) and
// quietPeriod (from 1m up to maxGrace; "" is DefaultQuietPeriod).
func ParseRevokeSettings(revokePrevious, maxGrace, quietPeriod string) (RevokePolicy, error) {
	maxGrace, quietPeriod = strings.TrimSpace(maxGrace), strings.TrimSpace(quietPeriod)
	if strings.TrimSpace(revokePrevious) != whenUnused {
		switch {
		case maxGrace != "":
			return RevokePolicy{}, &SettingError{"maxGrace", `applies only to revokePrevious "when-unused"`}
		case quietPeriod != "":
			return RevokePolicy{}, &SettingError{"quietPeriod", `applies only to revokePrevious "when-unused"`}
		}
		return ParseRevokePolicy(revokePrevious)
	}
	p := RevokePolicy{Mode: RevokeWhenUnused, MaxGrace: DefaultMaxGrace, Quiet: DefaultQuietPeriod}
	var err error
	if maxGrace != "" {
		if p.MaxGrace, err = parseDelay("maxGrace", "", maxGrace); err != nil {
			return RevokePolicy{}, err
		}
	}
	if quietPeriod != "" {
		if p.Quiet, err = parseDelay("quietPeriod", "", quietPeriod); err != nil {
			return RevokePolicy{}, err
		}
	}
	if p.Quiet > p.MaxGrace {
		return RevokePolicy{}, &SettingError{"quietPeriod", fmt.Sprintf("must not be longer than maxGrace (%s); the default is %s",
			shortDuration(p.MaxGrace), shortDuration(DefaultQuietPeriod))}
	}
	return p, nil
}

// parseDelay reads a duration of a revocation setting: Go's syntax or
// whole days, from a minute to 30 days. what prefixes the syntax in the
// message ("after:").
func parseDelay(field, what, s string) (time.Duration, error) {
	d, err := duration.Parse(s)
	if err != nil || d < minRevokeDelay || d > maxRevokeDelay {
		return 0, &SettingError{field, what + " takes a duration from 1m to 30d, such as 24h or 7d"}
	}
	return d, nil
}

// String returns the revokePrevious setting in the form ParseRevokePolicy
// reads, with the grace period in its shortest whole unit ("after:24h",
// "after:90m"); "when-unused" without its parameters (MaxGraceString,
// QuietString).
func (p RevokePolicy) String() string {
	switch p.Mode {
	case RevokeImmediately:
		return "immediately"
	case RevokeAfter:
		return "after:" + shortDuration(p.After)
	case RevokeWhenUnused:
		return whenUnused
	}
	return "next-rotation"
}

// Tag returns the policy as secretkind.TagRevokePrevious stores it: String,
// and for when-unused its parameters too.
func (p RevokePolicy) Tag() string {
	if p.Mode != RevokeWhenUnused {
		return p.String()
	}
	return whenUnused + " " + maxGraceParam + shortDuration(p.MaxGrace) + " " + quietParam + shortDuration(p.Quiet)
}

// MaxGraceString and QuietString are when-unused's parameters as the API
// shows them ("72h"); "" for the other policies.
func (p RevokePolicy) MaxGraceString() string { return p.whenUnusedParam(p.MaxGrace) }

// QuietString: see MaxGraceString.
func (p RevokePolicy) QuietString() string { return p.whenUnusedParam(p.Quiet) }

func (p RevokePolicy) whenUnusedParam(d time.Duration) string {
	if p.Mode != RevokeWhenUnused {
		return ""
	}
	return shortDuration(d)
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
	case RevokeWhenUnused:
		return Retirement{KeyID: keyID, Due: now.Add(p.MaxGrace).UTC(), WhenUnused: true,
			RetiredAt: ceilSecond(now), Quiet: p.Quiet}
	}
	return Retirement{KeyID: keyID}
}

// ceilSecond rounds t up to a whole second, as a retirement tag stores
// times: a quiet period measured from it starts no earlier than t.
func ceilSecond(t time.Time) time.Time {
	return t.UTC().Add(time.Second - 1).Truncate(time.Second)
}
