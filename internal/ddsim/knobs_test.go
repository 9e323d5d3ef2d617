package ddsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestActivationDelay(t *testing.T) {
	f := newFixture(t, Options{ActivationDelay: 5 * time.Second})
	if !f.sim.Authenticates(f.apiKey, f.adminKey) {
		t.Fatal("keys added with the Go helpers must not be delayed")
	}
	appSecret, _ := f.mustCreateKey(f.adminKey, "fresh", nil)
	apiRes, resp, err := f.keys().CreateAPIKey(f.as(f.adminKey), createAPIKeyBody("fresh-api"))
	if code := statusOf(t, resp, err); code != http.StatusCreated {
		t.Fatalf("creating API key: status %d", code)
	}
	apiSecret := apiRes.Data.Attributes.GetKey()

	steps := []struct {
		advance  time.Duration
		wantApp  int // validate_keys with the new app key
		wantAPI  int // v1 validate with the new API key
		wantAuth bool
	}{
		{0, http.StatusForbidden, http.StatusForbidden, false},
		{4999 * time.Millisecond, http.StatusForbidden, http.StatusForbidden, false},
		{time.Millisecond, http.StatusOK, http.StatusOK, true},
	}
	for _, step := range steps {
		f.clock.Advance(step.advance)
		t.Run("after "+f.clock.Now().Format("15:04:05.000"), func(t *testing.T) {
			_, resp, err := f.keys().ValidateAPIKey(f.as(appSecret))
			if code := statusOf(t, resp, err); code != step.wantApp {
				t.Errorf("new app key: status %d, want %d", code, step.wantApp)
			}
			_, resp, err = f.auth().Validate(f.ctx(apiSecret, ""))
			if code := statusOf(t, resp, err); code != step.wantAPI {
				t.Errorf("new API key: status %d, want %d", code, step.wantAPI)
			}
			if got := f.sim.Authenticates(f.apiKey, appSecret); got != step.wantAuth {
				t.Errorf("Authenticates = %v, want %v", got, step.wantAuth)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, Options{RateLimit: 2, RatePeriod: 10 * time.Second})
	f.clock.Advance(3 * time.Second) // 7 s left in the window
	otherAPIKey, _ := f.sim.AddAPIKey(f.orgID, "second")

	steps := []struct {
		name          string
		apiKey        string
		advance       time.Duration
		wantStatus    int
		wantRemaining string
		wantReset     string
	}{
		{"first request", f.apiKey, 0, http.StatusOK, "1", "7"},
		{"second request", f.apiKey, 0, http.StatusOK, "0", "7"},
		{"over the limit", f.apiKey, 1500 * time.Millisecond, http.StatusTooManyRequests, "0", "6"},
		{"another API key has its own budget", otherAPIKey, 0, http.StatusOK, "1", "6"},
		{"next window", f.apiKey, 6 * time.Second, http.StatusOK, "1", "10"},
	}
	for _, step := range steps {
		f.clock.Advance(step.advance)
		t.Run(step.name, func(t *testing.T) {
			_, resp, err := f.auth().Validate(f.ctx(step.apiKey, ""))
			if code := statusOf(t, resp, err); code != step.wantStatus {
				t.Fatalf("status %d, want %d", code, step.wantStatus)
			}
			want := map[string]string{
				"X-RateLimit-Limit": "2", "X-RateLimit-Period": "10", "X-RateLimit-Name": rateLimitName,
				"X-RateLimit-Remaining": step.wantRemaining, "X-RateLimit-Reset": step.wantReset,
			}
			for name, value := range want {
				if got := resp.Header.Get(name); got != value {
					t.Errorf("%s = %q, want %q", name, got, value)
				}
			}
			if step.wantStatus == http.StatusTooManyRequests {
				if errs := errorsOf(err); len(errs) != 1 {
					t.Errorf("429 errors %v, want one message", errs)
				}
			}
		})
	}

	t.Run("requests without a valid API key are not counted", func(t *testing.T) {
		_, resp, err := f.auth().Validate(f.ctx("ffffffffffffffffffffffffffffffff", ""))
		if code := statusOf(t, resp, err); code != http.StatusForbidden || resp.Header.Get("X-RateLimit-Limit") != "" {
			t.Errorf("status %d, rate headers %q", code, resp.Header.Get("X-RateLimit-Limit"))
		}
	})

	t.Run("no headers when rate limiting is off", func(t *testing.T) {
		g := newFixture(t, Options{})
		_, resp, err := g.auth().Validate(g.ctx(g.apiKey, ""))
		if statusOf(t, resp, err) != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "" {
			t.Error("unexpected rate-limit headers")
		}
	})
}

func TestFaultsFromGo(t *testing.T) {
	f := newFixture(t, Options{})
	_, keyID := f.sim.AddAppKey(f.robotID, "victim", nil)
	f.sim.AddFault(Fault{Method: "delete", PathPrefix: "/api/v2/service_accounts/", Status: http.StatusServiceUnavailable, Count: 2})
	f.sim.AddFault(Fault{PathPrefix: "/api/v2/validate_keys", Delay: 30 * time.Millisecond}) // latency only

	del := func() int {
		resp, err := f.serviceAccounts().DeleteServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, keyID)
		return statusOf(t, resp, err)
	}
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusNoContent} {
		if got := del(); got != want {
			t.Errorf("delete #%d: status %d, want %d", i+1, got, want)
		}
	}

	t.Run("status 0 only adds latency", func(t *testing.T) {
		start := time.Now()
		_, resp, err := f.keys().ValidateAPIKey(f.as(f.adminKey))
		if code := statusOf(t, resp, err); code != http.StatusOK {
			t.Errorf("status %d, want 200", code)
		}
		if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
			t.Errorf("answered after %v, want at least 30ms", elapsed)
		}
		if len(f.sim.Faults()) != 0 {
			t.Errorf("faults left: %+v", f.sim.Faults())
		}
	})

	t.Run("other methods and paths are untouched; ClearFaults", func(t *testing.T) {
		f.sim.AddFault(Fault{Method: "POST", PathPrefix: "/api/v2/current_user/", Status: 500, Count: 10})
		if _, resp, err := f.keys().ListCurrentUserApplicationKeys(f.as(f.adminKey)); statusOf(t, resp, err) != http.StatusOK {
			t.Error("GET was faulted by a POST fault")
		}
		if _, resp, err := f.keys().CreateCurrentUserApplicationKey(f.as(f.adminKey), createKeyBody("x", nil)); statusOf(t, resp, err) != 500 {
			t.Error("POST was not faulted")
		}
		f.sim.ClearFaults()
		f.mustCreateKey(f.adminKey, "after-clear", nil)
	})
}

func TestFaultsOverHTTP(t *testing.T) {
	f := newFixture(t, Options{})
	_, keyID := f.sim.AddAppKey(f.robotID, "victim", nil)

	resp, _ := f.raw(http.MethodPost, "/_sim/faults", nil, readFixture(t, "fault_delete_500.json"))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sim/faults: status %d", resp.StatusCode)
	}
	want := Fault{Method: "DELETE", PathPrefix: "/api/v2/service_accounts/", Status: 500, Count: 1}
	if got := f.sim.Faults(); len(got) != 1 || got[0] != want {
		t.Fatalf("faults %+v, want [%+v]", got, want)
	}
	resp, body := f.raw(http.MethodGet, "/_sim/faults", nil, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"pathPrefix":"/api/v2/service_accounts/"`) {
		t.Errorf("GET /_sim/faults: %d %s", resp.StatusCode, body)
	}

	deleteKey := func() int {
		resp, err := f.serviceAccounts().DeleteServiceAccountApplicationKey(f.as(f.adminKey), f.robotID, keyID)
		return statusOf(t, resp, err)
	}
	if got := deleteKey(); got != http.StatusInternalServerError {
		t.Errorf("faulted delete: status %d, want 500", got)
	}

	f.raw(http.MethodPost, "/_sim/faults", nil, readFixture(t, "fault_delete_500.json"))
	resp, _ = f.raw(http.MethodDelete, "/_sim/faults", nil, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /_sim/faults: status %d", resp.StatusCode)
	}
	if got := deleteKey(); got != http.StatusNoContent {
		t.Errorf("delete after clearing: status %d, want 204", got)
	}

	for _, bad := range []string{`{"status":-1}`, `not json`, `{"delayMs":"soon"}`} {
		if resp, _ := f.raw(http.MethodPost, "/_sim/faults", nil, bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: status %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestAPIRequestsCountsOnlyAPIPaths(t *testing.T) {
	f := newFixture(t, Options{})
	f.sim.AddFault(Fault{PathPrefix: "/api/v1/validate", Status: 502})
	f.auth().Validate(f.ctx(f.apiKey, ""))                     // faulted: still received
	f.auth().Validate(f.ctx("bad", ""))                        // rejected: still received
	f.raw(http.MethodGet, "/api/v2/no_such_endpoint", nil, "") // unknown: still received
	f.raw(http.MethodGet, "/_sim/keys", nil, "")               // admin: not counted
	f.raw(http.MethodGet, "/healthz", nil, "")                 // not under /api/
	if got := f.sim.APIRequests(); got != 3 {
		t.Errorf("APIRequests = %d, want 3", got)
	}
}

// TestFaultsAfterChange loses the answer of a request the simulator has
// carried out: the key exists, and the client sees a reset connection, a
// 5xx or a timeout.
func TestFaultsAfterChange(t *testing.T) {
	tests := []struct {
		name      string
		fault     string // POST /_sim/faults body
		timeout   time.Duration
		wantState int // HTTP status the client sees; 0: no answer at all
	}{
		{"connection reset", `{"method":"POST","pathPrefix":"/api/v2/current_user/application_keys","afterChange":true}`, 0, 0},
		{"5xx after the change", `{"method":"POST","pathPrefix":"/api/v2/current_user/application_keys","status":503,"afterChange":true}`, 0, http.StatusServiceUnavailable},
		{"timeout", `{"method":"POST","pathPrefix":"/api/v2/current_user/application_keys","delayMs":5000,"afterChange":true}`, 200 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			if resp, _ := f.raw(http.MethodPost, "/_sim/faults", nil, tt.fault); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("POST /_sim/faults: status %d", resp.StatusCode)
			}
			ctx := f.as(f.adminKey)
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, resp, err := f.keys().CreateCurrentUserApplicationKey(ctx, createKeyBody("lost-answer", []string{"metrics_read"}))
			switch {
			case tt.wantState == 0 && (err == nil || resp != nil):
				t.Fatalf("got an answer (err %v), want none", err)
			case tt.wantState != 0 && statusOf(t, resp, err) != tt.wantState:
				t.Fatalf("status %d, want %d", statusOf(t, resp, err), tt.wantState)
			}
			if tt.timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want a timeout", err)
			}
			if n := countKeysNamed(f.sim, "lost-answer"); n != 1 {
				t.Errorf("%d keys named lost-answer, want 1: the change must be made", n)
			}
			if len(f.sim.Faults()) != 0 {
				t.Errorf("faults left: %+v", f.sim.Faults())
			}
		})
	}
}

func countKeysNamed(sim *Simulator, name string) int {
	n := 0
	for _, k := range sim.Keys() {
		if k.Name == name {
			n++
		}
	}
	return n
}

// TestRateLimitOverHTTP sets the rate limit through the admin API and
// checks the 429 and its X-RateLimit-* headers, and that a 429 fault
// carries them too.
func TestRateLimitOverHTTP(t *testing.T) {
	f := newFixture(t, Options{})
	f.clock.Advance(4 * time.Second) // 6 s left in a 10 s window
	if resp, _ := f.raw(http.MethodPut, "/_sim/ratelimit", nil, `{"limit":1,"periodSeconds":10}`); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT /_sim/ratelimit: status %d", resp.StatusCode)
	}
	if resp, body := f.raw(http.MethodGet, "/_sim/ratelimit", nil, ""); resp.StatusCode != http.StatusOK || string(body) != `{"limit":1,"periodSeconds":10}` {
		t.Fatalf("GET /_sim/ratelimit: %d %s", resp.StatusCode, body)
	}
	wantHeaders := func(t *testing.T, resp *http.Response, limit, remaining string) {
		t.Helper()
		want := map[string]string{"X-RateLimit-Limit": limit, "X-RateLimit-Period": "10",
			"X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": "6", "X-RateLimit-Name": rateLimitName}
		for name, value := range want {
			if got := resp.Header.Get(name); got != value {
				t.Errorf("%s = %q, want %q", name, got, value)
			}
		}
	}
	steps := []struct {
		name       string
		wantStatus int
		remaining  string
	}{
		{"within the limit", http.StatusOK, "0"},
		{"over the limit", http.StatusTooManyRequests, "0"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			_, resp, err := f.auth().Validate(f.ctx(f.apiKey, ""))
			if code := statusOf(t, resp, err); code != step.wantStatus {
				t.Fatalf("status %d, want %d", code, step.wantStatus)
			}
			wantHeaders(t, resp, "1", step.remaining)
		})
	}

	t.Run("limit 0 turns it off", func(t *testing.T) {
		f.raw(http.MethodPut, "/_sim/ratelimit", nil, `{"limit":0}`)
		_, resp, err := f.auth().Validate(f.ctx(f.apiKey, ""))
		if statusOf(t, resp, err) != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "" {
			t.Errorf("status %d, X-RateLimit-Limit %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
		}
	})

	t.Run("a 429 fault carries the headers", func(t *testing.T) {
		f.raw(http.MethodPost, "/_sim/faults", nil, `{"pathPrefix":"/api/v1/validate","status":429}`)
		_, resp, err := f.auth().Validate(f.ctx(f.apiKey, ""))
		if code := statusOf(t, resp, err); code != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", code)
		}
		wantHeaders(t, resp, "1", "0")
	})

	for _, bad := range []string{`{"limit":-1}`, `{"periodSeconds":-5}`, `not json`, `{"limit":"many"}`} {
		if resp, _ := f.raw(http.MethodPut, "/_sim/ratelimit", nil, bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: status %d, want 400", bad, resp.StatusCode)
		}
	}
}
