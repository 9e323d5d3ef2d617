package rotationstate

import (
	"errors"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name, schedule, window string
		want                   secretstore.RotationRules
		wantField              string // "" = valid
	}{
		{name: "rate in days", schedule: "rate(30 days)", window: "2h", want: secretstore.RotationRules{ScheduleExpression: "rate(30 days)", Duration: "2h"}},
		{name: "one day", schedule: "rate(1 day)", want: secretstore.RotationRules{ScheduleExpression: "rate(1 day)"}},
		{name: "rate in hours", schedule: "rate(4 hours)", window: "4h", want: secretstore.RotationRules{ScheduleExpression: "rate(4 hours)", Duration: "4h"}},
		{name: "bare days", schedule: " 90 ", want: secretstore.RotationRules{AutomaticallyAfterDays: 90}},
		{name: "cron", schedule: "cron(0 16 1,15 * ? *)", window: "3h", want: secretstore.RotationRules{ScheduleExpression: "cron(0 16 1,15 * ? *)", Duration: "3h"}},
		{name: "cron by weekday", schedule: "cron(0 8 ? * MON-FRI *)", want: secretstore.RotationRules{ScheduleExpression: "cron(0 8 ? * MON-FRI *)"}},
		{name: "too frequent", schedule: "rate(3 hours)", wantField: "schedule"},
		{name: "zero days", schedule: "rate(0 days)", wantField: "schedule"},
		{name: "too many days", schedule: "1001", wantField: "schedule"},
		{name: "minutes unit", schedule: "rate(5 minutes)", wantField: "schedule"},
		{name: "free text", schedule: "monthly", wantField: "schedule"},
		{name: "empty", schedule: "", wantField: "schedule"},
		{name: "cron minutes", schedule: "cron(30 16 1 * ? *)", wantField: "schedule"},
		{name: "cron year", schedule: "cron(0 16 1 * ? 2027)", wantField: "schedule"},
		{name: "cron five fields", schedule: "cron(0 16 1 * ?)", wantField: "schedule"},
		{name: "cron both days", schedule: "cron(0 16 1 * MON *)", wantField: "schedule"},
		{name: "cron bad characters", schedule: "cron(0 16 1 * ? *;)", wantField: "schedule"},
		{name: "window in minutes", schedule: "rate(1 day)", window: "30m", wantField: "window"},
		{name: "window too long", schedule: "rate(10 days)", window: "25h", wantField: "window"},
		{name: "window longer than interval", schedule: "rate(4 hours)", window: "5h", wantField: "window"},
		{name: "zero window", schedule: "rate(1 day)", window: "0h", wantField: "window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSchedule(tt.schedule, tt.window)
			if tt.wantField != "" {
				var se *SettingError
				if !errors.As(err, &se) || se.Field != tt.wantField {
					t.Fatalf("want a SettingError on %s, got %v", tt.wantField, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSchedule: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestScheduleRoundTrip(t *testing.T) {
	tests := []struct {
		rules secretstore.RotationRules
		want  string
	}{
		{secretstore.RotationRules{ScheduleExpression: "rate(7 days)", AutomaticallyAfterDays: 7}, "rate(7 days)"},
		{secretstore.RotationRules{AutomaticallyAfterDays: 1}, "rate(1 day)"},
		{secretstore.RotationRules{AutomaticallyAfterDays: 30}, "rate(30 days)"},
		{secretstore.RotationRules{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := Schedule(tt.rules)
			if got != tt.want {
				t.Fatalf("Schedule = %q, want %q", got, tt.want)
			}
			if got == "" {
				return
			}
			if _, err := ParseSchedule(got, ""); err != nil {
				t.Errorf("Schedule's output does not parse: %v", err)
			}
		})
	}
}

func TestParseRevokePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    RevokePolicy
		str     string
		invalid bool
	}{
		{in: "", want: RevokePolicy{Mode: RevokeNextRotation}, str: "next-rotation"},
		{in: "next-rotation", want: RevokePolicy{Mode: RevokeNextRotation}, str: "next-rotation"},
		{in: "immediately", want: RevokePolicy{Mode: RevokeImmediately}, str: "immediately"},
		{in: "after:24h", want: RevokePolicy{Mode: RevokeAfter, After: 24 * time.Hour}, str: "after:24h"},
		{in: "after:90m", want: RevokePolicy{Mode: RevokeAfter, After: 90 * time.Minute}, str: "after:90m"},
		{in: "after:7d", want: RevokePolicy{Mode: RevokeAfter, After: 7 * 24 * time.Hour}, str: "after:168h"},
		{in: "after:1h30m", want: RevokePolicy{Mode: RevokeAfter, After: 90 * time.Minute}, str: "after:90m"},
		{in: "after:30s", invalid: true},
		{in: "after:31d", invalid: true},
		{in: "after:-1h", invalid: true},
		{in: "after:", invalid: true},
		{in: "after:soon", invalid: true},
		{in: "never", invalid: true},
		{in: "IMMEDIATELY", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRevokePolicy(tt.in)
			if tt.invalid {
				var se *SettingError
				if !errors.As(err, &se) || se.Field != "revokePrevious" {
					t.Fatalf("want a SettingError on revokePrevious, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRevokePolicy: %v", err)
			}
			if got != tt.want || got.String() != tt.str {
				t.Errorf("got %+v (%q), want %+v (%q)", got, got.String(), tt.want, tt.str)
			}
			if again, err := ParseRevokePolicy(got.String()); err != nil || again != got {
				t.Errorf("String does not round-trip: %v, %v", again, err)
			}
		})
	}
}

func TestPolicyOfTags(t *testing.T) {
	tests := []struct {
		tag  string
		want string
	}{
		{"", "next-rotation"},
		{"immediately", "immediately"},
		{"after:2h", "after:2h"},
		{"garbage", "next-rotation"},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			tags := map[string]string{}
			if tt.tag != "" {
				tags[secretkind.TagRevokePrevious] = tt.tag
			}
			if got := PolicyOf(tags).String(); got != tt.want {
				t.Errorf("PolicyOf = %q, want %q", got, tt.want)
			}
		})
	}
}
