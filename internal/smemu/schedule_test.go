package smemu

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	// Monday 10 March 2025, 09:30 UTC.
	from := time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2025, month, day, hour, 0, 0, 0, time.UTC)
	}
	tests := []struct {
		rules rotationRules
		want  time.Time
	}{
		{rotationRules{AutomaticallyAfterDays: 30}, from.Add(30 * 24 * time.Hour)},
		{rotationRules{ScheduleExpression: "rate(4 hours)"}, from.Add(4 * time.Hour)},
		{rotationRules{ScheduleExpression: "rate(1 day)"}, from.Add(24 * time.Hour)},
		{rotationRules{ScheduleExpression: "rate(10 days)", Duration: "3h"}, from.Add(240 * time.Hour)},
		{rotationRules{ScheduleExpression: "cron(0 16 * * ? *)"}, at(3, 10, 16)},
		{rotationRules{ScheduleExpression: "cron(0 8 * * ? *)"}, at(3, 11, 8)},
		{rotationRules{ScheduleExpression: "cron(0 16 1,15 * ? *)"}, at(3, 15, 16)},
		{rotationRules{ScheduleExpression: "cron(0 0 L * ? *)"}, at(3, 31, 0)},
		{rotationRules{ScheduleExpression: "cron(0 4 ? * SAT,SUN *)"}, at(3, 15, 4)},
		{rotationRules{ScheduleExpression: "cron(0 4 ? * 2#1 *)"}, at(4, 7, 4)}, // first Monday of April
		{rotationRules{ScheduleExpression: "cron(0 */6 ? * MON *)"}, at(3, 10, 12)},
		{rotationRules{ScheduleExpression: "cron(0 10 1 JAN ? *)"}, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
		{rotationRules{ScheduleExpression: "cron(0 10 29 FEB ? *)"}, time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.rules.ScheduleExpression+tc.rules.Duration, func(t *testing.T) {
			sched, err := parseRules(&tc.rules)
			if err != nil {
				t.Fatalf("parseRules: %v", err)
			}
			if got := sched.next(from); !got.Equal(tc.want) {
				t.Fatalf("next(%v) = %v, want %v", from, got, tc.want)
			}
		})
	}
	t.Run("no rules, no schedule", func(t *testing.T) {
		if sched, err := parseRules(&rotationRules{}); sched != nil || err != nil {
			t.Fatalf("parseRules(empty) = %v, %v", sched, err)
		}
	})
}

func TestScheduleRejects(t *testing.T) {
	tests := []struct {
		rules    rotationRules
		wantType string
	}{
		{rotationRules{AutomaticallyAfterDays: 1001}, typeValidation},
		{rotationRules{AutomaticallyAfterDays: -1}, typeValidation},
		{rotationRules{AutomaticallyAfterDays: 1, ScheduleExpression: "rate(1 day)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "rate(3 hours)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "rate(1 week)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 * * ? *);"}, typeValidation},
		{rotationRules{ScheduleExpression: "at(2025-01-01)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "every day"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 * * *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(15 16 * * ? *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 * * ? 2026)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 * * * *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 ? * ? *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 25 * * ? *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 30 FEB ? *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "cron(0 16 ? * MON#6 *)"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "rate(1 day)", Duration: "25h"}, typeInvalidParameter},
		{rotationRules{ScheduleExpression: "rate(1 day)", Duration: "2d"}, typeValidation},
	}
	for _, tc := range tests {
		t.Run(tc.rules.ScheduleExpression+tc.rules.Duration, func(t *testing.T) {
			_, err := parseRules(&tc.rules)
			var apiErr *apiError
			if !errors.As(err, &apiErr) || apiErr.Type != tc.wantType {
				t.Fatalf("parseRules(%+v) = %v, want %s", tc.rules, err, tc.wantType)
			}
		})
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"test", []string{"test"}},
		{"my test", []string{"my", "test"}},
		{"MyTestPhrase", []string{"my", "test", "phrase"}},
		{"myTest", []string{"my", "test"}},
		{"prod/AppBeta/x1", []string{"prod", "app", "beta", "x1"}},
		{"COMPANYthings", []string{"compan", "ythings"}},
		{"prod-AppBeta/x", []string{"prod-appbeta/x"}},
		{"+", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := words(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("words(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
