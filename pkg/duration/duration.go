package duration

import (
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours; Parse reads "Nd" as N days.
const Day = 24 * time.Hour

// Parse reads a duration in Go's syntax or whole days ("7d").
func Parse(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * Day, nil
	}
	return time.ParseDuration(s)
}
