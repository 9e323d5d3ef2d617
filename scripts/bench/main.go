// Command bench measures the binaries ddconn ships and writes the results to
// docs/benchmarks.md (`make bench`). It reports, per function:
//
//   - the linux/arm64 bootstrap size, as `sam build` makes it;
//   - cold start under the Lambda Runtime Interface Emulator, from starting
//     the process to the first answer, median of -runs runs, and its ratio to
//     a hello-world aws-lambda-go function built the same way and measured in
//     the same run (runs are interleaved, so drift hits all alike);
//   - warm latency (p50/p99) of -warm invocations of the function's workload,
//     the validate request among them, against the in-process stand-ins;
//   - peak RSS of the function process (VmHWM);
//   - which package initialisers dominate init (GODEBUG=inittrace=1).
//
// Timings are reported against the budgets, never enforced: they depend on
// the machine. It needs the RIE (`make tools`).
//
// Usage:
//
//	go run ./scripts/bench [-runs 21] [-warm 200] [-out docs/benchmarks.md]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ddconn/ddconn/deploy"
	"github.com/ddconn/ddconn/e2e"
	"github.com/ddconn/ddconn/internal/ddsim"
)

// Budgets from the deployment issue.
const (
	maxBootstrapBytes = 12 << 20
	maxColdRatio      = 1.5
	maxRSSBytes       = 64 << 20
)

// hello is the baseline's name in the results.
const hello = "hello-world"

type options struct {
	root string
	runs int
	warm int
	out  string
}

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "module root (template.yaml, Makefile, .bin/)")
	flag.IntVar(&o.runs, "runs", 21, "cold starts per function (at least 10)")
	flag.IntVar(&o.warm, "warm", 200, "warm invocations per function")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "where to write the results")
	flag.Parse()
	if o.runs < 10 || o.warm < 100 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 10 and -warm at least 100")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one row of the table.
type result struct {
	name      string
	arm64Size int64
	cold      []time.Duration // process start → first answer
	init      []time.Duration // the RIE's INIT REPORT: exec → runtime ready
	warm      []time.Duration
	peakRSS   int64
	initTrace []pkgInit
	initTotal time.Duration
	workload  string
	coldRatio float64
	initRatio float64
}

func run(ctx context.Context, o options) error {
	tpl, err := deploy.Load(filepath.Join(o.root, "template.yaml"))
	if err != nil {
		return err
	}
	rie, err := filepath.Abs(filepath.Join(o.root, ".bin", "aws-lambda-rie"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(rie); err != nil {
		return fmt.Errorf("aws-lambda-rie not found at %s: run make tools", rie)
	}
	tmp, err := os.MkdirTemp("", "ddconn-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	ids := tpl.Functions()
	results := map[string]*result{hello: {name: hello, workload: "echo `{}`"}}
	for _, id := range ids {
		results[id] = &result{name: id}
	}
	progress("building linux/arm64 (sizes) and linux/%s (measurements)", runtime.GOARCH)
	host, err := build(ctx, o.root, tmp, ids, results)
	if err != nil {
		return err
	}

	st, err := e2e.StartStack(ctx, e2e.StackOptions{
		Template: tpl, RIE: rie, Bootstraps: host,
		RIELogLevel: "info", LogLevel: "info", // production's level
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Simulator.SeedDemo(); err != nil {
		return err
	}
	w := &workloads{}
	if err := w.seed(ctx, st); err != nil {
		return err
	}
	helloOpts := e2e.ProcessOptions{
		RIE: rie, Bootstrap: host[hello], LogLevel: "info",
		Env: []string{"AWS_REGION=" + e2e.Region, "AWS_LAMBDA_FUNCTION_NAME=hello"},
	}

	progress("cold starts: %d runs each, interleaved", o.runs)
	if err := measureCold(ctx, st, helloOpts, w, ids, o.runs, results); err != nil {
		return err
	}
	progress("init traces")
	if err := traceInit(ctx, st, helloOpts, w, ids, results); err != nil {
		return err
	}
	progress("warm latency: %d invocations each", o.warm)
	if err := measureWarm(ctx, st, helloOpts, w, ids, o.warm, results); err != nil {
		return err
	}

	order := append([]string{hello}, ids...)
	base := results[hello]
	for _, r := range results {
		r.coldRatio = ratio(median(r.cold), median(base.cold))
		r.initRatio = ratio(median(r.init), median(base.init))
	}
	doc, err := render(ctx, o, order, results)
	if err != nil {
		return err
	}
	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(o.root, out)
	}
	if err := os.WriteFile(out, doc, 0o644); err != nil {
		return err
	}
	progress("wrote %s", o.out)
	return nil
}

// build makes the arm64 binaries (for their sizes) and the host binaries
// (to run), for every function and the hello-world baseline.
func build(ctx context.Context, root, tmp string, ids []string, results map[string]*result) (map[string]string, error) {
	host := map[string]string{}
	for _, arch := range []string{"arm64", runtime.GOARCH} {
		for _, id := range append([]string{hello}, ids...) {
			dir := filepath.Join(tmp, arch, id)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			path := filepath.Join(dir, "bootstrap")
			var err error
			if id == hello {
				err = e2e.BuildPackage(ctx, root, "./e2e/testdata/hello", arch, path)
			} else {
				_, err = e2e.BuildFunction(ctx, root, id, arch, dir)
			}
			if err != nil {
				return nil, err
			}
			if arch == "arm64" {
				fi, err := os.Stat(path)
				if err != nil {
					return nil, err
				}
				results[id].arm64Size = fi.Size()
			}
			host[id] = path
		}
	}
	return host, nil
}

// workloads are the invocations each function is measured with: a
// representative request that succeeds against the stand-ins.
type workloads struct {
	seq int // numbers the connections the create workload makes
}

// benchConn is the connection the read and validate workloads use.
const benchConn = "bench"

func (w *workloads) seed(ctx context.Context, st *e2e.Stack) error {
	_, err := w.invoke(ctx, "CreateFunction", st.Functions["CreateFunction"], benchConn)
	return err
}

func (w *workloads) describe(id string) string {
	switch id {
	case "CreateFunction":
		return "`POST /connections` (new name each time)"
	case "ValidateFunction":
		return "`POST /connections/{name}/validate`"
	case "ManageFunction":
		return "`GET /connections/{name}`"
	case "RotateFunction":
		return fmt.Sprintf("scheduled sweep over %d connections", w.seq+1)
	}
	return "?"
}

// invoke runs id's workload on p and checks it succeeded: numbers from
// failing calls would measure the failure path.
func (w *workloads) invoke(ctx context.Context, id string, p *e2e.Process, createName string) (time.Duration, error) {
	start := time.Now()
	var status, want int
	switch id {
	case "CreateFunction":
		if createName == "" {
			w.seq++
			createName = fmt.Sprintf("bench-%d", w.seq)
		}
		body, _ := json.Marshal(map[string]any{"name": createName, "credentials": map[string]string{
			"url": "https://api." + ddsim.DemoSite, "apiKey": ddsim.DemoAPIKey, "applicationKey": ddsim.DemoAppKey}})
		resp, err := e2e.InvokeHTTP(ctx, p, "POST /connections", "/connections", body)
		if err != nil {
			return 0, err
		}
		status, want = resp.Status, http.StatusCreated
	case "ValidateFunction":
		resp, err := e2e.InvokeHTTP(ctx, p, "POST /connections/{name}/validate", "/connections/"+benchConn+"/validate", nil)
		if err != nil {
			return 0, err
		}
		status, want = resp.Status, http.StatusOK
	case "ManageFunction":
		resp, err := e2e.InvokeHTTP(ctx, p, "GET /connections/{name}", "/connections/"+benchConn, nil)
		if err != nil {
			return 0, err
		}
		status, want = resp.Status, http.StatusOK
	case "RotateFunction":
		ev, err := e2e.ScheduledEvent()
		if err != nil {
			return 0, err
		}
		if _, err := p.Invoke(ctx, ev); err != nil {
			return 0, err
		}
	default:
		if _, err := p.Invoke(ctx, []byte("{}")); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	if status != want {
		return 0, fmt.Errorf("%s answered %d, want %d", id, status, want)
	}
	return d, nil
}

// start launches a fresh process of a function, or of the baseline.
func start(st *e2e.Stack, helloOpts e2e.ProcessOptions, id string, out io.Writer, env ...string) (*e2e.Process, error) {
	if id == hello {
		o := helloOpts
		o.Env = append(slices.Clone(o.Env), env...)
		o.Output = out
		return e2e.Start(o)
	}
	return st.StartFunction(id, out, env...)
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

func measureCold(ctx context.Context, st *e2e.Stack, helloOpts e2e.ProcessOptions, w *workloads, ids []string, runs int, results map[string]*result) error {
	for range runs {
		for _, id := range append([]string{hello}, ids...) {
			var out bytes.Buffer
			p, err := start(st, helloOpts, id, &out)
			if err != nil {
				return err
			}
			_, err = w.invoke(ctx, id, p, "")
			cold := time.Since(p.Started())
			p.Close() // after Close, out is complete and no longer written
			if err != nil {
				return fmt.Errorf("cold %s: %w", id, err)
			}
			r := results[id]
			r.cold = append(r.cold, cold)
			if m := initReport.FindSubmatch(out.Bytes()); m != nil {
				ms, _ := strconv.ParseFloat(string(m[1]), 64)
				r.init = append(r.init, time.Duration(ms*float64(time.Millisecond)))
			}
		}
	}
	return nil
}

// pkgInit is one package's share of init, from GODEBUG=inittrace=1.
type pkgInit struct {
	pkg   string
	clock time.Duration
	bytes int64
}

var initLine = regexp.MustCompile(`(?m)^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes`)

func traceInit(ctx context.Context, st *e2e.Stack, helloOpts e2e.ProcessOptions, w *workloads, ids []string, results map[string]*result) error {
	for _, id := range append([]string{hello}, ids...) {
		var out bytes.Buffer
		p, err := start(st, helloOpts, id, &out, "GODEBUG=inittrace=1")
		if err != nil {
			return err
		}
		_, err = w.invoke(ctx, id, p, "")
		p.Close()
		if err != nil {
			return fmt.Errorf("tracing %s: %w", id, err)
		}
		// GODEBUG reaches the RIE too (it hands its environment on), and it is
		// a Go program: keep only what follows its "INIT START", when it
		// starts the function.
		_, trace, found := strings.Cut(out.String(), "INIT START")
		if !found {
			return fmt.Errorf("tracing %s: no INIT START in the RIE's output", id)
		}
		r := results[id]
		for _, m := range initLine.FindAllStringSubmatch(trace, -1) {
			ms, _ := strconv.ParseFloat(m[2], 64)
			b, _ := strconv.ParseInt(m[3], 10, 64)
			pi := pkgInit{pkg: m[1], clock: time.Duration(ms * float64(time.Millisecond)), bytes: b}
			r.initTotal += pi.clock
			r.initTrace = append(r.initTrace, pi)
		}
		slices.SortFunc(r.initTrace, func(a, b pkgInit) int { return int(b.clock - a.clock) })
	}
	return nil
}

func measureWarm(ctx context.Context, st *e2e.Stack, helloOpts e2e.ProcessOptions, w *workloads, ids []string, n int, results map[string]*result) error {
	helloProc, err := start(st, helloOpts, hello, nil)
	if err != nil {
		return err
	}
	defer helloProc.Close()
	// Create last: each of its invocations adds a connection for the sweep.
	order := slices.Clone(ids)
	slices.SortStableFunc(order, func(a, b string) int { return boolInt(a == "CreateFunction") - boolInt(b == "CreateFunction") })
	for _, id := range append([]string{hello}, order...) {
		p := helloProc
		if id != hello {
			p = st.Functions[id]
		}
		r := results[id]
		for i := range n + n/10 { // the first tenth warms up and is not kept
			d, err := w.invoke(ctx, id, p, "")
			if err != nil {
				return fmt.Errorf("warm %s: %w", id, err)
			}
			if i >= n/10 {
				r.warm = append(r.warm, d)
			}
		}
		if r.peakRSS, err = p.PeakRSS(); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if r.workload == "" {
			r.workload = w.describe(id)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

// percentile is the nearest-rank percentile.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := (p*len(s) + 99) / 100
	return s[max(rank, 1)-1]
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func render(ctx context.Context, o options, order []string, results map[string]*result) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintln(&b, "# Benchmarks")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Written by `make bench` (`go run ./scripts/bench`); do not edit by hand. Timings depend on the")
	fmt.Fprintln(&b, "machine and are reported against the budgets, not enforced; sizes are checked by `go test ./deploy`.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "## Machine")
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- `uname -m`: %s; CPU: %s; %d logical CPUs\n", command(ctx, "uname", "-m"), cpuModel(), runtime.NumCPU())
	fmt.Fprintf(&b, "- Go: %s; Lambda Runtime Interface Emulator from `.bin/aws-lambda-rie` (Makefile `RIE_VERSION`)\n", command(ctx, "go", "env", "GOVERSION"))
	fmt.Fprintf(&b, "- Runs: %d cold starts per function (interleaved), %d warm invocations per function after %d to warm up\n", o.runs, o.warm, o.warm/10)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "## Results")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| Function | arm64 `bootstrap` (≤ 12 MB) | Cold start, median | × hello-world (≤ 1.5) | Cold − warm p50 (× hello-world) | Init, median (× hello-world) | Warm p50 | Warm p99 | Peak RSS (≤ 64 MB) | Workload |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|")
	base := results[order[0]]
	baseStartup := median(base.cold) - percentile(base.warm, 50)
	for _, id := range order {
		r := results[id]
		startup := median(r.cold) - percentile(r.warm, 50)
		fmt.Fprintf(&b, "| %s | %s %s | %s | %.2f× %s | %s (%.2f×) | %s (%.1f×) | %s | %s | %s %s | %s |\n",
			r.name, mb(r.arm64Size), mark(r.arm64Size <= maxBootstrapBytes),
			ms(median(r.cold)), r.coldRatio, mark(id == hello || r.coldRatio <= maxColdRatio),
			ms(startup), ratio(startup, baseStartup),
			ms(median(r.init)), r.initRatio,
			ms(percentile(r.warm, 50)), ms(percentile(r.warm, 99)),
			mb(r.peakRSS), mark(r.peakRSS <= maxRSSBytes), r.workload)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "- **Cold start**: from starting the RIE process to the first answer, so it includes the RIE's own")
	fmt.Fprintln(&b, "  start, the function's init and its first invocation (its first plain-HTTP calls to the stand-ins);")
	fmt.Fprintln(&b, "  the hello-world baseline pays the same RIE start. **Init** is the RIE's `INIT REPORT`: from")
	fmt.Fprintln(&b, "  starting `bootstrap` to its first request for work. **Cold − warm p50** takes the")
	fmt.Fprintln(&b, "  workload's own cost out of the cold start, leaving what being cold adds: a function whose")
	fmt.Fprintln(&b, "  request calls Datadog several times (create, validate) pays that on its first answer too.")
	fmt.Fprintln(&b, "- Measured on the host architecture with binaries built by the same `build-<LogicalId>` targets")
	fmt.Fprintln(&b, "  (only `LAMBDA_GOARCH` differs); sizes are of the linux/arm64 binaries `sam build` uploads.")
	fmt.Fprintln(&b, "- The stand-ins (Secrets Manager emulator, Datadog simulator) run in the benchmark process on")
	fmt.Fprintln(&b, "  loopback, so warm latency is ddconn's own cost plus local HTTP, not AWS or Datadog latency.")
	fmt.Fprintln(&b, "- Peak RSS is `VmHWM` of the `bootstrap` process after the warm invocations.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "## What dominates init")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Package initialisers by wall-clock time (`GODEBUG=inittrace=1`, one run, the RIE's own")
	fmt.Fprintln(&b, "initialisers left out), against the median init above; the five largest are named:")
	fmt.Fprintln(&b)
	for _, id := range order {
		r := results[id]
		fmt.Fprintf(&b, "- **%s**: %s of its %s median init in %d package initialisers, %s;",
			r.name, ms(r.initTotal), ms(median(r.init)), len(r.initTrace), dominant(r))
		for i, pi := range r.initTrace[:min(5, len(r.initTrace))] {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s `%s` %s (%s)", sep, pi.pkg, ms(pi.clock), kb(pi.bytes))
		}
		fmt.Fprintln(&b)
	}
	return b.Bytes(), nil
}

// dominant says whether package initialisers or the rest of init (the Go
// runtime starting, then main: configuration, AWS SDK configuration, clients,
// up to the first request for work) take more of a function's init.
func dominant(r *result) string {
	rest := median(r.init) - r.initTotal
	if rest > r.initTotal {
		return fmt.Sprintf("so the rest (the Go runtime starting, then main until its first request for work) dominates with about %s", ms(rest))
	}
	return "so package initialisers dominate"
}

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "❌ over budget"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func mb(n int64) string         { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
func kb(n int64) string         { return fmt.Sprintf("%.0f kB allocated", float64(n)/(1<<10)) }

func command(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
