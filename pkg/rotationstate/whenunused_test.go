package rotationstate

import (
	"errors"
	"testing"
	"time"
)

func TestParseRevokeSettings(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name                            string
		revokePrevious, maxGrace, quiet string
		want                            RevokePolicy
		tag, str, maxGraceOut, quietOut string
		invalidField                    string
	}{
		{name: "defaults", revokePrevious: "when-unused",
			want: RevokePolicy{Mode: RevokeWhenUnused, MaxGrace: 7 * day, Quiet: time.Hour},
			tag:  "when-unused max-grace=168h quiet=1h", str: "when-unused", maxGraceOut: "168h", quietOut: "1h"},
		{name: "both given", revokePrevious: "when-unused", maxGrace: "72h", quiet: "30m",
			want: RevokePolicy{Mode: RevokeWhenUnused, MaxGrace: 72 * time.Hour, Quiet: 30 * time.Minute},
			tag:  "when-unused max-grace=72h quiet=30m", str: "when-unused", maxGraceOut: "72h", quietOut: "30m"},
		{name: "days", revokePrevious: "when-unused", maxGrace: "3d",
			want: RevokePolicy{Mode: RevokeWhenUnused, MaxGrace: 3 * day, Quiet: time.Hour},
			tag:  "when-unused max-grace=72h quiet=1h", str: "when-unused", maxGraceOut: "72h", quietOut: "1h"},
		{name: "other policies pass through", revokePrevious: "after:2h",
			want: RevokePolicy{Mode: RevokeAfter, After: 2 * time.Hour}, tag: "after:2h", str: "after:2h"},
		{name: "maxGrace out of range", revokePrevious: "when-unused", maxGrace: "31d", invalidField: "maxGrace"},
		{name: "quiet out of range", revokePrevious: "when-unused", quiet: "10s", invalidField: "quietPeriod"},
		{name: "quiet longer than maxGrace", revokePrevious: "when-unused", maxGrace: "30m", invalidField: "quietPeriod"},
		{name: "maxGrace without when-unused", revokePrevious: "after:1h", maxGrace: "2h", invalidField: "maxGrace"},
		{name: "quiet without when-unused", quiet: "2h", invalidField: "quietPeriod"},
		{name: "parameters in revokePrevious", revokePrevious: "when-unused soon", invalidField: "revokePrevious"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRevokeSettings(tt.revokePrevious, tt.maxGrace, tt.quiet)
			if tt.invalidField != "" {
				var se *SettingError
				if !errors.As(err, &se) || se.Field != tt.invalidField {
					t.Fatalf("want a SettingError on %s, got %v", tt.invalidField, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.Tag() != tt.tag || got.String() != tt.str || got.MaxGraceString() != tt.maxGraceOut || got.QuietString() != tt.quietOut {
				t.Errorf("got %+v (tag %q, %q, %q, %q)", got, got.Tag(), got.String(), got.MaxGraceString(), got.QuietString())
			}
			if again := PolicyOf(map[string]string{"ddconn:revoke-previous": got.Tag()}); again != got {
				t.Errorf("the tag does not round-trip: %+v", again)
			}
		})
	}
}

func TestWhenUnusedRetirement(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 300, time.UTC)
	p := RevokePolicy{Mode: RevokeWhenUnused, MaxGrace: 72 * time.Hour, Quiet: time.Hour}
	r := p.RetirementFor("k1", now)
	r.Owner = Owner{ID: "sa", ServiceAccount: true}
	if !r.WhenUnused || !r.Due.Equal(now.Add(72*time.Hour)) || r.RetiredAt.Before(now) || r.Quiet != time.Hour {
		t.Fatalf("retirement %+v", r)
	}
	used := now.Add(90 * time.Minute).Truncate(time.Second)
	r.LastUsedAt = &used
	k, v := r.Tag()
	back := Retirements(map[string]string{k: v})
	if len(back) != 1 || back[0].Owner != r.Owner || !back[0].WhenUnused || !back[0].RetiredAt.Equal(r.RetiredAt) ||
		back[0].Quiet != r.Quiet || back[0].LastUsedAt == nil || !back[0].LastUsedAt.Equal(used) || !back[0].Due.Equal(r.Due.Truncate(time.Second)) {
		t.Fatalf("tag %q reads back as %+v, want %+v", v, back, r)
	}
	r = back[0]
	tests := []struct {
		at     time.Duration
		unused bool
	}{
		{59 * time.Minute, false},             // within the quiet period after the promotion
		{2 * time.Hour, false},                // used 30 minutes ago
		{150*time.Minute + time.Second, true}, // an hour after the last use
	}
	for _, tt := range tests {
		if got := r.UnusedAt(now.Add(tt.at)); got != tt.unused {
			t.Errorf("UnusedAt(+%s) = %v, want %v", tt.at, got, tt.unused)
		}
	}
	if at := r.RevokeIfUnusedAt(); !at.Equal(used.Add(time.Hour)) {
		t.Errorf("RevokeIfUnusedAt = %v, want an hour after the last use", at)
	}
	if !r.Ready(now, nil) || !r.Ready(now, []string{"AWSPREVIOUS"}) || r.Ready(now.Add(100*time.Hour), []string{"AWSCURRENT"}) {
		t.Error("a when-unused retirement is ready whenever no live version holds its key")
	}
	// A record without the when-unused part reads as before.
	old := Retirements(map[string]string{k: "2026-12-05T12:00:00Z service-account:sa"})
	if len(old) != 1 || old[0].WhenUnused || old[0].Owner != r.Owner {
		t.Errorf("a record of another policy reads as %+v", old)
	}
}
