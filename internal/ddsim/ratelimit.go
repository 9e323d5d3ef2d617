package ddsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// rateLimitName is the X-RateLimit-Name every simulated limit reports.
const rateLimitName = "ddsim_api"

// RateLimit is the rate limit per API key: Limit requests per Period, in
// clock-aligned windows; Limit 0 turns rate limiting off.
//
// JSON form (GET and PUT /_sim/ratelimit): {"limit":2,"periodSeconds":10}
type RateLimit struct {
	Limit  int
	Period time.Duration
}

// rateLimitJSON is RateLimit's wire form, with the period in seconds.
type rateLimitJSON struct {
	Limit         int   `json:"limit"`
	PeriodSeconds int64 `json:"periodSeconds"`
}

// MarshalJSON encodes rl in its admin-API form.
func (rl RateLimit) MarshalJSON() ([]byte, error) {
	return json.Marshal(rateLimitJSON{Limit: rl.Limit, PeriodSeconds: int64(rl.Period / time.Second)})
}

// UnmarshalJSON decodes the admin-API form and rejects negative values.
func (rl *RateLimit) UnmarshalJSON(data []byte) error {
	var j rateLimitJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.Limit < 0 || j.PeriodSeconds < 0 {
		return fmt.Errorf("decoding rate limit: limit and periodSeconds must not be negative")
	}
	*rl = RateLimit{Limit: j.Limit, Period: time.Duration(j.PeriodSeconds) * time.Second}
	return nil
}

// SetRateLimit replaces the rate limit (Options.RateLimit and RatePeriod; a
// zero Period is defaultRatePeriod) and starts every key's count afresh.
func (s *Simulator) SetRateLimit(rl RateLimit) {
	if rl.Period <= 0 {
		rl.Period = defaultRatePeriod
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RateLimit, s.opts.RatePeriod = rl.Limit, rl.Period
	s.windows = map[string]*rateWindow{}
}

// CurrentRateLimit returns the rate limit in force.
func (s *Simulator) CurrentRateLimit() RateLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return RateLimit{Limit: s.opts.RateLimit, Period: s.opts.RatePeriod}
}

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

// tooManyRequests is Datadog's 429 body (TooManyRequestsResponse).
func tooManyRequests() reply { return errorReply(http.StatusTooManyRequests, "Too many requests") }

// rateLimited is the 429 of a fault: the current window's X-RateLimit-*
// headers with nothing remaining. Limit is the configured limit, or 1 when
// rate limiting is off (the fault stands for a limit already used up).
func (s *Simulator) rateLimited() reply {
	s.mu.Lock()
	limit, period, now := s.opts.RateLimit, s.opts.RatePeriod, s.now()
	s.mu.Unlock()
	start := now.Truncate(period)
	st := rateStatus{enabled: true, exceeded: true, limit: max(limit, 1), period: period, reset: start.Add(period).Sub(now)}
	return st.apply(tooManyRequests())
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
