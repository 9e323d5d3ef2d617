package rotationstate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/secretstore"
)

// SettingError is a rotation setting a user got wrong. Its message is safe
// to show to users; the manage API answers it with 400.
type SettingError struct {
	// Field is the JSON name of the setting, such as "schedule".
	Field string
	// Message says what is wrong and what is accepted.
	Message string
}

func (e *SettingError) Error() string { return e.Field + ": " + e.Message }

// Limits of Secrets Manager's rotation rules (reference §2 and §6).
const (
	minRateHours = 4
	maxDays      = 1000
	maxWindow    = 24
)

var (
	rateRe   = regexp.MustCompile(`^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$`)
	cronRe   = regexp.MustCompile(`^cron\((.*)\)$`)
	cronChar = regexp.MustCompile(`^[0-9A-Za-z#?*\-/,]+$`)
	daysRe   = regexp.MustCompile(`^\d+$`)
	windowRe = regexp.MustCompile(`^(\d+)h$`)
)

// ParseSchedule turns a schedule and a window into Secrets Manager rotation
// rules. The schedule is one of:
//
//   - "rate(N days)" (1–1000) or "rate(N hours)" (at least 4);
//   - "cron(0 H DoM Mon DoW *)": six fields, minutes 0, year *, and exactly
//     one of day-of-month and day-of-week set to "?", in UTC;
//   - a bare number of days "N" (AutomaticallyAfterDays, 1–1000).
//
// The window ("Nh", 1–24 hours; "" for Secrets Manager's default) is how long
// a rotation may take to start after its scheduled time; it may not be longer
// than an hourly rate.
func ParseSchedule(schedule, window string) (secretstore.RotationRules, error) {
	schedule = strings.TrimSpace(schedule)
	var rules secretstore.RotationRules
	var interval time.Duration
	switch {
	case daysRe.MatchString(schedule):
		n, err := boundedInt("schedule", schedule, 1, maxDays, "days")
		if err != nil {
			return rules, err
		}
		rules.AutomaticallyAfterDays = int64(n)
		interval = time.Duration(n) * 24 * time.Hour
	case rateRe.MatchString(schedule):
		d, err := parseRate(schedule)
		if err != nil {
			return rules, err
		}
		rules.ScheduleExpression = schedule
		interval = d
	case cronRe.MatchString(schedule):
		if err := checkCron(schedule); err != nil {
			return rules, err
		}
		rules.ScheduleExpression = schedule
		interval = 24 * time.Hour
	default:
		return rules, &SettingError{"schedule", `want "rate(N days)", "rate(N hours)", "cron(0 H DoM Mon DoW *)" or a number of days`}
	}
	w, err := parseWindow(window, interval)
	if err != nil {
		return rules, err
	}
	rules.Duration = w
	return rules, nil
}

func parseRate(schedule string) (time.Duration, error) {
	m := rateRe.FindStringSubmatch(schedule)
	if strings.HasPrefix(m[2], "hour") {
		n, err := boundedInt("schedule", m[1], minRateHours, maxDays*24, "hours")
		return time.Duration(n) * time.Hour, err
	}
	n, err := boundedInt("schedule", m[1], 1, maxDays, "days")
	return time.Duration(n) * 24 * time.Hour, err
}

// checkCron applies Secrets Manager's cron rules (reference §6): six
// fields, rotation on the hour, any year, and EventBridge's rule that one of
// day-of-month and day-of-week is "?".
func checkCron(schedule string) error {
	if len(schedule) > 256 {
		return &SettingError{"schedule", "longer than 256 characters"}
	}
	fields := strings.Fields(cronRe.FindStringSubmatch(schedule)[1])
	if len(fields) != 6 {
		return &SettingError{"schedule", "cron() takes six fields: minutes hours day-of-month month day-of-week year"}
	}
	for _, f := range fields {
		if !cronChar.MatchString(f) {
			return &SettingError{"schedule", fmt.Sprintf("cron field %q has characters other than letters, digits and #?*-/,", f)}
		}
	}
	if fields[0] != "0" {
		return &SettingError{"schedule", "cron() minutes must be 0: rotations start on the hour"}
	}
	if fields[5] != "*" {
		return &SettingError{"schedule", "cron() year must be *"}
	}
	if (fields[2] == "?") == (fields[4] == "?") {
		return &SettingError{"schedule", `cron() needs exactly one of day-of-month and day-of-week set to "?"`}
	}
	return nil
}

func parseWindow(window string, interval time.Duration) (string, error) {
	window = strings.TrimSpace(window)
	if window == "" {
		return "", nil
	}
	if !windowRe.MatchString(window) {
		return "", &SettingError{"window", `want a number of hours such as "2h"`}
	}
	n, err := boundedInt("window", strings.TrimSuffix(window, "h"), 1, maxWindow, "hours")
	if err != nil {
		return "", err
	}
	if time.Duration(n)*time.Hour > interval {
		return "", &SettingError{"window", "longer than the interval between rotations"}
	}
	return strconv.Itoa(n) + "h", nil
}

func boundedInt(field, s string, lo, hi int, unit string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, &SettingError{field, fmt.Sprintf("want %d to %d %s", lo, hi, unit)}
	}
	return n, nil
}

// Schedule returns the schedule of rules as a user would write it: the
// schedule expression, or "rate(N days)" for AutomaticallyAfterDays. It
// returns "" when the rules set neither.
func Schedule(rules secretstore.RotationRules) string {
	switch {
	case rules.ScheduleExpression != "":
		return rules.ScheduleExpression
	case rules.AutomaticallyAfterDays == 1:
		return "rate(1 day)"
	case rules.AutomaticallyAfterDays > 1:
		return fmt.Sprintf("rate(%d days)", rules.AutomaticallyAfterDays)
	}
	return ""
}
