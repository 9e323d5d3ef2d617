package scale

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/testkit"
)

// TestScaleReduced is the reduced run `make test` carries: N secrets
// (SCALE_N, default 1,000) with latency scaled down tenfold (8 ms Datadog,
// 1.5 ms Secrets Manager) and the default rate limit, asserting the
// invariants docs/scale.md reports at full size.
func TestScaleReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 1,000 secrets")
	}
	if testkit.RaceEnabled {
		t.Skip("too slow under the race detector: make unit runs it without")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SCALE_N")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{N: n, DatadogLatency: 8 * time.Millisecond, SecretsManagerLatency: 1500 * time.Microsecond,
		RetryInterval: 500 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	for _, sw := range []Sweep{res.Before, res.After} {
		if sw.Report.Failed != 0 {
			t.Errorf("sweep failed for %d secrets", sw.Report.Failed)
		}
		// A page shares listings among its own secrets; pages are in name
		// order, and a page ending inside a run of one connection's
		// managed keys takes the rest of the run from the next: one
		// listing per owner.
		if sw.Report.Listings != res.Owners {
			t.Errorf("sweep made %d key listings for %d owners over %d pages, want one per owner", sw.Report.Listings, res.Owners, sw.Pages)
		}
		if int(sw.DDCalls-sw.Throttled) > sw.DatadogCallsAllowed {
			t.Errorf("sweep made %d Datadog calls (%d answered 429 and retried); at most one per listing plus one per deleted key is %d", sw.DDCalls, sw.Throttled, sw.DatadogCallsAllowed)
		}
	}
	if res.Burst.Failed != 0 || res.Orphans != 0 || res.Unauthenticated != 0 {
		t.Errorf("after the burst: %d rotations failed, %d orphaned keys, %d secrets whose AWSCURRENT key does not authenticate", res.Burst.Failed, res.Orphans, res.Unauthenticated)
	}
	if res.ConnectionsPageP50 > 2*res.ListSecretsPageP50+5*time.Millisecond {
		t.Errorf("GET /connections?limit=100 p50 %v, more than twice one ListSecrets page's %v", res.ConnectionsPageP50, res.ListSecretsPageP50)
	}
}
