package ddsim

import (
	"net/http"
	"testing"
	"time"
)

// TestLatencyAndThrottledCount: every /api/ request waits the configured
// latency (admin requests do not), and 429s of the rate limit are counted.
func TestLatencyAndThrottledCount(t *testing.T) {
	f := newFixture(t, Options{Latency: 60 * time.Millisecond, RateLimit: 1, RatePeriod: time.Hour})
	start := time.Now()
	resp, _ := f.raw(http.MethodGet, "/api/v1/validate", map[string]string{"DD-API-KEY": f.apiKey}, "")
	if took := time.Since(start); resp.StatusCode != http.StatusOK || took < 60*time.Millisecond {
		t.Fatalf("validate answered %d after %v, want 200 after at least 60ms", resp.StatusCode, took)
	}
	resp, _ = f.raw(http.MethodGet, "/api/v1/validate", map[string]string{"DD-API-KEY": f.apiKey}, "")
	if resp.StatusCode != http.StatusTooManyRequests || f.sim.Throttled() != 1 {
		t.Fatalf("second request answered %d, throttled count %d; want 429 and 1", resp.StatusCode, f.sim.Throttled())
	}
	f.sim.SetLatency(0)
	start = time.Now()
	f.raw(http.MethodGet, "/_sim/keys", nil, "")
	f.raw(http.MethodGet, "/api/v1/validate", map[string]string{"DD-API-KEY": f.apiKey}, "")
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Fatalf("requests without latency took %v", took)
	}
}
