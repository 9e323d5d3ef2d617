package ddsim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// rateLimitName is the X-RateLimit-Name every simulated limit reports.
const rateLimitName = "ddsim_api"

// rateWindow counts one API key's requests in the current window.
type rateWindow struct {
	start time.Time
	count int
}

// rateStatus is the outcome of counting one request.
type rateStatus struct {
	enabled   bool
	exceeded  bool
	limit     int
	remaining int
	period    time.Duration
	reset     time.Duration // until the window ends
}

// takeRate counts a request by API key keyID. Windows are aligned to the
// clock (Datadog's periods are calendar-aligned), so every key's window
// resets at the same instant. s.mu must be held.
func (s *Simulator) takeRate(keyID string, now time.Time) rateStatus {
	if s.opts.RateLimit <= 0 {
		return rateStatus{}
	}
	period := s.opts.RatePeriod
	start := now.Truncate(period)
	win := s.windows[keyID]
	if win == nil || !win.start.Equal(start) {
		win = &rateWindow{start: start}
		s.windows[keyID] = win
	}
	win.count++
	return rateStatus{
		enabled:   true,
		exceeded:  win.count > s.opts.RateLimit,
		limit:     s.opts.RateLimit,
		remaining: max(s.opts.RateLimit-win.count, 0),
		period:    period,
		reset:     start.Add(period).Sub(now),
	}
}

// apply adds the X-RateLimit headers to rep when rate limiting is on.
func (st rateStatus) apply(rep reply) reply {
	if !st.enabled {
		return rep
	}
	if rep.header == nil {
		rep.header = http.Header{}
	}
	rep.header.Set("X-RateLimit-Limit", strconv.Itoa(st.limit))
	rep.header.Set("X-RateLimit-Period", strconv.Itoa(ceilSeconds(st.period)))
	rep.header.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
	rep.header.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(st.reset)))
	rep.header.Set("X-RateLimit-Name", rateLimitName)
	return rep
}

// ceilSeconds rounds up so a client that waits Reset seconds is never early.
func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
