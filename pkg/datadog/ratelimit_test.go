package datadog_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/datadog"
)

// rateLimitedOrg is an organisation whose API key may make limit requests
// per period, on the simulator's clock now, with the arrival time of every
// request recorded.
func rateLimitedOrg(t *testing.T, limit int, period time.Duration, now func() time.Time, retry datadog.Retry) (*datadog.Client, datadog.Credentials, func() []time.Time) {
	t.Helper()
	sim, err := ddsim.New(ddsim.Options{RateLimit: limit, RatePeriod: period, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	org := sim.CreateOrg("rate-limited")
	apiKey, _ := sim.AddAPIKey(org, "key")
	client := datadog.New(datadog.Options{BaseURL: srv.URL, Retry: retry})
	return client, datadog.Credentials{Site: us5, APIKey: apiKey}, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(arrivals)
	}
}

// TestRateLimitedCallFailsFastWhenResetIsBeyondTheWindow: a 429 whose
// X-RateLimit-Reset ends after the retry window fails the call at once,
// so a rotation step fails inside Secrets Manager's retry rather than
// running into the function's timeout.
func TestRateLimitedCallFailsFastWhenResetIsBeyondTheWindow(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // the window resets in an hour
	client, cr, _ := rateLimitedOrg(t, 1, time.Hour, func() time.Time { return start },
		datadog.Retry{Enabled: true, MaxRetries: 3, Timeout: 20 * time.Second})
	if err := client.ValidateAPIKey(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err := client.ValidateAPIKey(context.Background(), cr)
	if took := time.Since(began); !errors.Is(err, datadog.ErrUnavailable) || took > time.Second {
		t.Fatalf("rate-limited call = %v after %v, want ErrUnavailable at once", err, took)
	}
}

// TestRateLimitedRetriesSpreadWithJitter: calls refused together by a rate
// limit retry after X-RateLimit-Reset, spread by the jitter rather than
// all at the same instant.
func TestRateLimitedRetriesSpreadWithJitter(t *testing.T) {
	if testing.Short() {
		t.Skip("the client's retry waits at least 2 s")
	}
	client, cr, arrivals := rateLimitedOrg(t, 1, time.Second, nil,
		datadog.Retry{Enabled: true, MaxRetries: 1, Timeout: 20 * time.Second, Jitter: 2 * time.Second})
	if err := client.ValidateAPIKey(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	const callers = 8
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = client.ValidateAPIKey(context.Background(), cr)
		}()
	}
	wg.Wait()
	// One call, each caller's first attempt (refused: the second's limit is
	// used, unless the window turned meanwhile), then their retries.
	got := arrivals()
	if len(got) < 2*callers {
		t.Fatalf("%d requests, want at least %d: the refused callers did not retry", len(got), 2*callers)
	}
	retries := got[1+callers:]
	if spread := retries[len(retries)-1].Sub(retries[0]); spread < 200*time.Millisecond {
		t.Errorf("the %d retries arrived within %v: no jitter", callers, spread)
	}
}
