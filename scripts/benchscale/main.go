// Command benchscale measures ddconn at N secrets in the local stand-ins,
// with latency and Datadog's rate limits, and writes docs/scale.md
// (`make bench-scale`). See internal/scale for what a run does.
//
// Usage:
//
//	go run ./scripts/benchscale [-n 100,1000,10000] [-datadog-latency 80ms] [-secretsmanager-latency 15ms] [-out docs/scale.md]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ddconn/ddconn/internal/scale"
)

func main() {
	ns := flag.String("n", "100,1000,10000", "numbers of secrets, comma-separated")
	ddLatency := flag.Duration("datadog-latency", 80*time.Millisecond, "latency added to every Datadog request")
	smLatency := flag.Duration("secretsmanager-latency", 15*time.Millisecond, "latency added to every Secrets Manager request")
	out := flag.String("out", "docs/scale.md", "where to write the report")
	page := flag.String("page", "", "internal: sweep the page this JSON scale.PageTarget names, print a scale.PageResult")
	flag.Parse()
	if *page != "" {
		sweepOnePage(*page)
		return
	}
	var results []scale.Result
	start := time.Now()
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "benchscale: bad -n %q\n", f)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "benchscale: N = %d\n", n)
		res, err := scale.Run(context.Background(), scale.Config{N: n, DatadogLatency: *ddLatency, SecretsManagerLatency: *smLatency,
			Logf:        func(format string, args ...any) { fmt.Fprintf(os.Stderr, "  "+format+"\n", args...) },
			PageProcess: pageProcess})
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchscale: N = %d: %v\n", n, err)
			os.Exit(1)
		}
		results = append(results, res)
	}
	doc := render(results, *ddLatency, *smLatency, time.Since(start))
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "benchscale: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "benchscale: wrote %s\n", *out)
}

// sweepOnePage is the child process of pageProcess.
func sweepOnePage(target string) {
	var t scale.PageTarget
	if err := json.Unmarshal([]byte(target), &t); err != nil {
		fmt.Fprintf(os.Stderr, "benchscale: -page: %v\n", err)
		os.Exit(2)
	}
	res, err := scale.SweepPage(context.Background(), t)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchscale: -page: %v\n", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// pageProcess sweeps t in a child process (this program with -page), so
// its peak RSS is one page invocation's.
func pageProcess(ctx context.Context, t scale.PageTarget) (scale.PageResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return scale.PageResult{}, err
	}
	arg, _ := json.Marshal(t)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "-page", string(arg))
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return scale.PageResult{}, err
	}
	var res scale.PageResult
	return res, json.Unmarshal(stdout.Bytes(), &res)
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func ok(b bool) string {
	if b {
		return " ✅"
	}
	return " ❌"
}

func render(rs []scale.Result, dd, sm time.Duration, took time.Duration) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	rl := scale.DefaultRateLimit
	w("# Scale\n\n")
	w("Written by `make bench-scale` (`go run ./scripts/benchscale`, package `internal/scale`); do not edit by hand.\n")
	w("A reduced run (N = 1,000, latency a tenth of this) asserts the same invariants in `make test`\n")
	w("(`go test ./internal/scale`).\n\n")
	w("## Set-up\n\n")
	w("- Date: %s; %d logical CPUs; %s; this whole run took %s.\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), took.Round(time.Second))
	w("- Everything runs in one process on loopback: the Secrets Manager emulator, the Datadog simulator,\n")
	w("  the EventBridge stand-in, the API and the rotate function (the rotation steps the emulator invokes, and the sweeper).\n")
	w("- **Latency** is real time, not a virtual clock: the stand-ins sleep %s before every Datadog request and %s\n", dd, sm)
	w("  before every Secrets Manager request (`ddsim`/`smemu` `Options.Latency`). Seeding runs without latency.\n")
	w("- **Rate limit**: %d requests per %s per organisation (ddsim counts per API key, one per organisation; 429 with\n", rl.Limit, rl.Period)
	w("  `X-RateLimit-Limit/Period/Remaining/Reset`), on every endpoint the calls use. Datadog publishes no figure for its key endpoints;\n")
	w("  this one is chosen to bind: a rotation makes four Datadog calls, so an organisation's share of the burst (ten rotations) needs\n")
	w("  40 calls, more than a window allows, and its share of a sweep (about 40 listings) fills a window too. The rotate function's\n")
	w("  Datadog client retries as on Lambda: 2 retries within 20 s, waiting at least `X-RateLimit-Reset` plus up to 1 s of jitter.\n")
	w("- **Mix** per connection: the connection (its owner a service account), %d managed application keys (of one service account)\n", scale.AppKeysPerConnection)
	w("  and %d managed API key; %d connections per organisation. Every secret has rotation enabled (30 days, next-rotation).\n", scale.APIKeysPerConnection, scale.ConnectionsPerOrg)
	w("- **Sweep** as deployed: one invocation lists the pages (`Sweeper.Pages`), then each page of 100 secrets (give or take a run\n")
	w("  of one connection's managed keys moved across a boundary) is swept by its own\n")
	w("  invocation (`Sweeper.RunPage`); here %d pages at a time (Lambda would run them all at once, so the wall time is an upper\n", scale.PageConcurrency)
	w("  bound). \"Before\" is the first sweep after seeding, \"after\" the one after the rotation burst.\n")
	w("- **Burst**: every tenth secret (N/10, all kinds) gets RotateSecret at once, as when their schedules share a window; the emulator\n")
	w("  runs each secret's rotation independently and retries a failed one (2 s apart, 5 attempts).\n\n")

	w("## Sweep\n\n")
	w("| N | pages | remote calls per secret (SM + Datadog) | Datadog calls not 429 (≤ listings + deletes) | 429s | key listings / key owners (one each) | secrets read | sweep wall time | longest page invocation | one invocation would take | fan-out (list pages) |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		for _, s := range []struct {
			name string
			sw   scale.Sweep
		}{{"before", r.Before}, {"after", r.After}} {
			sw := s.sw
			w("| %d (%s) | %d | %.3f (%d + %d) | %d ≤ %d%s | %d | %d / %d%s | %d of %d | %s | %s%s | %s | %s |\n",
				r.N, s.name, sw.Pages, sw.CallsPerSecret, sw.SMCalls, sw.DDCalls, sw.DDCalls-sw.Throttled, sw.DatadogCallsAllowed, ok(int(sw.DDCalls-sw.Throttled) <= sw.DatadogCallsAllowed), sw.Throttled,
				sw.Report.Listings, r.Owners, ok(sw.Report.Listings == r.Owners), sw.Report.Connections-sw.Report.Unread, sw.Report.Connections,
				ms(sw.Wall), ms(sw.LongestPage), ok(sw.LongestPage <= time.Minute), ms(sw.PageTotal), ms(sw.FanOut))
		}
	}
	w("\nKey owners: per connection, its owner's application keys, its service account's, and its organisation's API keys (listed\n")
	w("with the connection's key). A page shares listings among its own secrets only. Pages are in name order, so one connection's\n")
	w("managed keys of a kind are adjacent; a page that would end inside such a run takes the rest of it from the next page, which\n")
	w("skips it (`PageRequest` `take`/`skip`), so each owner is listed by one page.\n\n")
	w("## Rotations in one window, list page, the end state\n\n")
	w("| N | rotations (N/10) | all finished in | failed after retries | 429s seen | Datadog calls | longest rotation step | orphaned keys after the next sweep | AWSCURRENT refused | `GET /connections?limit=100` p50 | one `ListSecrets` page p50 | ratio (≤ 2) |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		ratio := float64(r.ConnectionsPageP50) / float64(r.ListSecretsPageP50)
		w("| %d | %d | %s | %d%s | %d | %d | %s | %d%s | %d%s | %s | %s | %.2f%s |\n", r.N, r.Burst.Rotations, ms(r.Burst.Finish),
			r.Burst.Failed, ok(r.Burst.Failed == 0), r.Burst.Throttled, r.Burst.DDCalls, ms(r.LongestStep),
			r.Orphans, ok(r.Orphans == 0), r.Unauthenticated, ok(r.Unauthenticated == 0),
			ms(r.ConnectionsPageP50), ms(r.ListSecretsPageP50), ratio, ok(ratio <= 2))
	}
	w("\n## Memory\n\n")
	w("| N | one page invocation in its own process: peak RSS (≤ 64 MB) | its time | peak RSS of the whole bench process (stand-ins + N secrets + API + rotate function) | Go heap the second sweep left allocated |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		pageRSS, pageTime := "not measured", ""
		if r.Page != nil {
			pageRSS, pageTime = mb(r.Page.PeakRSS)+ok(r.Page.PeakRSS <= 64<<20), ms(r.Page.Duration)
		}
		w("| %d | %s | %s | %s | %s |\n", r.N, pageRSS, pageTime, mb(r.PeakRSS), mb(r.SweepHeap))
	}
	w("\nThe page invocation is the heaviest page of the second sweep, swept again by a process of its own built as the rotate function\n")
	w("builds its sweeper (a Go process on the host, not the arm64 binary under the Lambda RIE): under fan-out, one invocation holds at\n")
	w("most one page and its listings (100 secrets, plus fewer than a page taken from the next), whatever N is. A rotation step\n")
	w("holds one secret. `make bench` measures the shipped binaries' peak RSS under the RIE ([benchmarks.md](benchmarks.md)).\n")
	return b.String()
}
