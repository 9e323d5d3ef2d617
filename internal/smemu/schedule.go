package smemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// schedule answers when the rotation after a given moment is due.
type schedule interface {
	next(after time.Time) time.Time
}

// interval is AutomaticallyAfterDays or rate(): a fixed period after the
// previous rotation.
type interval time.Duration

func (d interval) next(after time.Time) time.Time { return after.Add(time.Duration(d)) }

var (
	schedulePattern = regexp.MustCompile(`^[0-9A-Za-z\(\)#\?\*\-\/, ]+$`)
	durationPattern = regexp.MustCompile(`^[0-9]+h$`)
	ratePattern     = regexp.MustCompile(`^rate\((\d+) (hours?|days?)\)$`)
)

const (
	maxAutoDays       = 1000
	minRateHours      = 4
	maxScheduleLen    = 256
	maxWindowHours    = 24
	cronFieldCount    = 6
	cronSearchHorizon = 5 * 366 // days scanned for the next cron match
)

// parseRules validates RotationRules and returns the schedule they describe,
// or nil when they set none. Duration is validated and stored but does not
// move the date: rotations start at the beginning of their window.
func parseRules(r *rotationRules) (schedule, error) {
	if r == nil {
		return nil, nil
	}
	if err := checkDuration(r.Duration); err != nil {
		return nil, err
	}
	switch {
	case r.AutomaticallyAfterDays != 0 && r.ScheduleExpression != "":
		return nil, newAPIError(typeInvalidParameter, "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.")
	case r.AutomaticallyAfterDays != 0:
		if r.AutomaticallyAfterDays < 1 || r.AutomaticallyAfterDays > maxAutoDays {
			return nil, errConstraint("rotationRules.automaticallyAfterDays", fmt.Sprintf("must have value between 1 and %d", maxAutoDays))
		}
		return interval(time.Duration(r.AutomaticallyAfterDays) * 24 * time.Hour), nil
	case r.ScheduleExpression != "":
		return parseScheduleExpression(r.ScheduleExpression)
	}
	return nil, nil
}

func checkDuration(d string) error {
	if d == "" {
		return nil
	}
	if len(d) < 2 || len(d) > 3 || !durationPattern.MatchString(d) {
		return errConstraint("rotationRules.duration", "must satisfy regular expression pattern: [0-9]+h")
	}
	hours, _ := strconv.Atoi(strings.TrimSuffix(d, "h"))
	if hours < 1 || hours > maxWindowHours {
		return newAPIError(typeInvalidParameter, "The rotation window Duration must be between 1h and 24h.")
	}
	return nil
}

func parseScheduleExpression(expr string) (schedule, error) {
	if len(expr) > maxScheduleLen || !schedulePattern.MatchString(expr) {
		return nil, errConstraint("rotationRules.scheduleExpression", "must satisfy regular expression pattern: [0-9A-Za-z\\(\\)#\\?\\*\\-\\/, ]+")
	}
	switch {
	case strings.HasPrefix(expr, "rate("):
		return parseRate(expr)
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		spec, err := parseCron(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
		if err != nil {
			return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: %v", expr, err)
		}
		if spec.next(time.Unix(0, 0)).IsZero() {
			return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: it never matches a date.", expr)
		}
		return spec, nil
	}
	return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: use rate() or cron().", expr)
}

func parseRate(expr string) (schedule, error) {
	m := ratePattern.FindStringSubmatch(expr)
	if m == nil {
		return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: use rate(N hours) or rate(N days).", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: %v", expr, err)
	}
	if strings.HasPrefix(m[2], "hour") {
		if n < minRateHours {
			return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: the rotation interval must be at least %d hours.", expr, minRateHours)
		}
		return interval(time.Duration(n) * time.Hour), nil
	}
	if n < 1 || n > maxAutoDays {
		return nil, newAPIError(typeInvalidParameter, "Invalid ScheduleExpression %s: days must be between 1 and %d.", expr, maxAutoDays)
	}
	return interval(time.Duration(n) * 24 * time.Hour), nil
}

// cronSpec is a Secrets Manager cron(0 H DoM Mon DoW *) expression, UTC.
// Exactly one of day-of-month and day-of-week is "?".
type cronSpec struct {
	hours    [24]bool
	months   [13]bool
	byDOW    bool     // day-of-month is "?": days are chosen by weekday
	doms     [32]bool // 1–31
	lastDOM  bool     // "L" in day-of-month
	dows     [8]bool  // 1 (SUN) – 7 (SAT)
	nthDOW   int      // with "#": the weekday…
	nthIndex int      // …and which occurrence in the month (1–5)
}

var (
	monthNames   = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	weekdayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

func parseCron(body string) (*cronSpec, error) {
	f := strings.Fields(body)
	if len(f) != cronFieldCount {
		return nil, fmt.Errorf("want %d fields (minutes hours day-of-month month day-of-week year), got %d", cronFieldCount, len(f))
	}
	if f[0] != "0" {
		return nil, fmt.Errorf("minutes must be 0: rotation windows start on the hour")
	}
	if f[5] != "*" {
		return nil, fmt.Errorf("year must be *")
	}
	var c cronSpec
	if err := parseCronField(f[1], 0, 23, nil, c.hours[:]); err != nil {
		return nil, fmt.Errorf("hours: %w", err)
	}
	if err := parseCronField(f[3], 1, 12, monthNames, c.months[:]); err != nil {
		return nil, fmt.Errorf("month: %w", err)
	}
	switch {
	case f[2] == "?" && f[4] == "?", f[2] != "?" && f[4] != "?":
		return nil, fmt.Errorf("exactly one of day-of-month and day-of-week must be ?")
	case f[2] == "?":
		c.byDOW = true
		return &c, c.parseDOW(f[4])
	case f[2] == "L":
		c.lastDOM = true
		return &c, nil
	}
	if err := parseCronField(f[2], 1, 31, nil, c.doms[:]); err != nil {
		return nil, fmt.Errorf("day-of-month: %w", err)
	}
	return &c, nil
}

// parseDOW reads the day-of-week field: a list/range/step or "DAY#n".
func (c *cronSpec) parseDOW(field string) error {
	day, nth, found := strings.Cut(field, "#")
	if !found {
		if err := parseCronField(field, 1, 7, weekdayNames, c.dows[:]); err != nil {
			return fmt.Errorf("day-of-week: %w", err)
		}
		return nil
	}
	d, err := cronValue(day, 1, 7, weekdayNames)
	if err != nil {
		return fmt.Errorf("day-of-week: %w", err)
	}
	n, err := strconv.Atoi(nth)
	if err != nil || n < 1 || n > 5 {
		return fmt.Errorf("day-of-week: occurrence after # must be 1-5")
	}
	c.nthDOW, c.nthIndex = d, n
	return nil
}

// parseCronField marks in set every value the field selects: comma lists of
// "*", "v", "v-w", each optionally followed by "/step".
func parseCronField(field string, lo, hi int, names map[string]int, set []bool) error {
	for _, item := range strings.Split(field, ",") {
		base, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		from, to, err := cronRange(base, lo, hi, names, hasStep)
		if err != nil {
			return err
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return nil
}

func cronRange(base string, lo, hi int, names map[string]int, hasStep bool) (int, int, error) {
	if base == "*" {
		return lo, hi, nil
	}
	first, last, isRange := strings.Cut(base, "-")
	from, err := cronValue(first, lo, hi, names)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		if hasStep {
			return from, hi, nil
		}
		return from, from, nil
	}
	to, err := cronValue(last, lo, hi, names)
	if err != nil {
		return 0, 0, err
	}
	if to < from {
		return 0, 0, fmt.Errorf("range %q runs backwards", base)
	}
	return from, to, nil
}

func cronValue(text string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(text)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("value %q must be %d-%d", text, lo, hi)
	}
	return v, nil
}

// next returns the first whole UTC hour strictly after the given moment that
// the expression selects.
func (c *cronSpec) next(after time.Time) time.Time {
	start := after.UTC().Truncate(time.Hour).Add(time.Hour)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	for i := 0; i < cronSearchHorizon; i, day = i+1, day.AddDate(0, 0, 1) {
		if !c.months[day.Month()] || !c.matchesDay(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			at := day.Add(time.Duration(h) * time.Hour)
			if c.hours[h] && !at.Before(start) {
				return at
			}
		}
	}
	return time.Time{}
}

func (c *cronSpec) matchesDay(day time.Time) bool {
	if !c.byDOW {
		if c.lastDOM {
			return day.AddDate(0, 0, 1).Day() == 1
		}
		return c.doms[day.Day()]
	}
	dow := int(day.Weekday()) + 1
	if c.nthIndex > 0 {
		return dow == c.nthDOW && (day.Day()-1)/7+1 == c.nthIndex
	}
	return c.dows[dow]
}
