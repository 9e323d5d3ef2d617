package scale

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// The mix of secrets: per connection, AppKeysPerConnection managed
// application keys (of one service account) and APIKeysPerConnection
// managed API keys; ConnectionsPerOrg connections share an organisation.
// A platform team mints one key per service, so managed keys outnumber
// connections.
const (
	AppKeysPerConnection = 8
	APIKeysPerConnection = 1
	SecretsPerConnection = 1 + AppKeysPerConnection + APIKeysPerConnection
	ConnectionsPerOrg    = 10
)

// DefaultRateLimit is the rate limit the run puts on every organisation's
// API key: 30 requests per 10 s. Datadog publishes no figure for its key
// endpoints, so it is chosen to bind: a rotation makes four Datadog calls,
// so an organisation's share of the burst (ten rotations: its hundred
// secrets are a tenth rotating) needs 40 calls, more than one window
// allows, and its share of a sweep (about 40 listings) fills a window
// too. The run shows whether the client's retries (X-RateLimit-Reset plus
// jitter) and Secrets Manager's keep everything inside the limit.
var DefaultRateLimit = ddsim.RateLimit{Limit: 30, Period: 10 * time.Second}

// Config is one run.
type Config struct {
	// N is the number of secrets; it is rounded down to whole connections
	// (SecretsPerConnection).
	N int
	// DatadogLatency and SecretsManagerLatency are added to every request.
	DatadogLatency, SecretsManagerLatency time.Duration
	// RateLimit is each organisation's; the zero value is DefaultRateLimit.
	RateLimit ddsim.RateLimit
	// SeedWorkers mint in parallel while seeding (no latency then); 0 is 16.
	SeedWorkers int
	// RetryInterval is the emulator's wait before it re-attempts a failed
	// rotation; 0 is 2 s.
	RetryInterval time.Duration
	// Logf, when set, reports progress.
	Logf func(format string, args ...any)
	// PageProcess, when set, sweeps a page in a process of its own
	// (SweepPage there) and returns what it measured: the footprint of one
	// page invocation, apart from the stand-ins.
	PageProcess func(ctx context.Context, t PageTarget) (PageResult, error)
}

// Result is what one run measured.
type Result struct {
	N, Connections, AppKeys, APIKeys, Orgs int
	// Owners is the number of distinct key listings a sweep needs: per
	// connection, its owner's application keys, its service account's, and
	// its organisation's API keys (listed with the connection's key).
	Owners int
	// Seed is how long seeding took (without latency).
	Seed time.Duration
	// Before and After are the sweeps before and after the rotation burst.
	Before, After Sweep
	// ConnectionsPageP50 is GET /connections?limit=100's median over
	// HTTP; ListSecretsPageP50 one ListSecrets page's (MaxResults 100).
	ConnectionsPageP50, ListSecretsPageP50 time.Duration
	// Burst is the N/10 rotations started in one window.
	Burst Burst
	// LongestInvocation is the longest single invocation of the rotate
	// function: a rotation step, a sweep's fan-out or one of its pages.
	LongestInvocation time.Duration
	LongestStep       time.Duration
	// Orphans are keys named for a secret that no labelled version holds
	// and no retirement covers, after the second sweep.
	Orphans int
	// Unauthenticated is the number of secrets whose AWSCURRENT key
	// Datadog refuses, after everything.
	Unauthenticated int
	// PeakRSS is the process's VmHWM (everything in one process: the
	// stand-ins holding N secrets, the API, the rotate function);
	// SweepHeap is the Go heap in use at the end of the second sweep
	// minus before it.
	PeakRSS   int64
	SweepHeap int64
	// Page is the heaviest page (the longest of the second sweep) swept
	// again in a process of its own, when Config.PageProcess is set.
	Page *PageResult
}

// PageConcurrency is how many page invocations of a sweep the run lets
// overlap: Lambda would run every page at once (or up to the rotate
// function's reserved concurrency); two cores cannot, so the measured wall
// time is an upper bound.
const PageConcurrency = 16

// Sweep is one fanned-out sweep.
type Sweep struct {
	// Pages is the number of pages; FanOut how long listing them took (the
	// scheduled invocation, without publishing); LongestPage the longest
	// page invocation; PageTotal the sum of the pages' times, what one
	// invocation sweeping everything would take; Wall from the start of
	// the fan-out to the end of the last page.
	Pages                          int
	FanOut, LongestPage, PageTotal time.Duration
	// LongestPageRequest is the longest page.
	LongestPageRequest sweeper.PageRequest
	Wall               time.Duration
	SMCalls, DDCalls   int64
	// Throttled are the Datadog calls answered 429 (and retried by the
	// client); DDCalls counts them.
	Throttled           int64
	Report              sweeper.Report
	CallsPerSecret      float64
	DatadogCallsAllowed int // listings plus keys deleted
}

// Burst is N/10 rotations started at once.
type Burst struct {
	Rotations int
	// Start is how long starting them (RotateSecret each) took; Finish
	// from the first start until every one has succeeded or given up.
	Start, Finish time.Duration
	Failed        int
	Throttled     int64
	DDCalls       int64
}

// managerPermissions are a connection owner's permissions: what minting
// for service accounts and the organisation's API keys needs.
var managerPermissions = []string{"service_account_write", "user_access_read", "user_app_keys", "api_keys_read", "api_keys_write", "api_keys_delete"}

const (
	prefix    = "ddconn/connections/"
	lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:ddconn-rotate"
	siteURL   = "https://api.datadoghq.com"
)

// run holds one run's state.
type run struct {
	cfg   Config
	st    *devstack.Stack
	steps longest
	// orgKey is each connection's organisation API key, by connection.
	orgKey map[string]string
	// arns are every secret's ARN, in creation order.
	arns []string
}

// longest keeps the longest duration it was given.
type longest struct{ ns atomic.Int64 }

func (l *longest) note(d time.Duration) {
	for {
		old := l.ns.Load()
		if int64(d) <= old || l.ns.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

func (l *longest) get() time.Duration { return time.Duration(l.ns.Load()) }

// Run seeds the stand-ins, measures, and checks what it measured.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.RateLimit = cmp.Or(cfg.RateLimit, DefaultRateLimit)
	cfg.SeedWorkers = cmp.Or(cfg.SeedWorkers, 16)
	cfg.RetryInterval = cmp.Or(cfg.RetryInterval, 2*time.Second)
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	conns := max(cfg.N/SecretsPerConnection, 1)
	r := &run{cfg: cfg, orgKey: map[string]string{}}
	rotate := devstack.RotationFunction(devstack.SimulatorActivation)
	st, err := devstack.Start(ctx, devstack.Options{
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Emulator:      smemu.Options{TickInterval: 50 * time.Millisecond},
		RetryInterval: cfg.RetryInterval,
		// As on Lambda (pkg/app.Rotation): the client retries 429 and 5xx
		// itself, honouring X-RateLimit-Reset, within a bounded window.
		DatadogRetry: app.Rotation.DatadogRetry(),
		RotationFunction: func(d devstack.Deps) (smemu.Invoker, error) {
			inv, err := rotate(d)
			if err != nil {
				return nil, err
			}
			return smemu.InvokerFunc(func(ctx context.Context, fn string, payload []byte) error {
				start := time.Now()
				defer func() { r.steps.note(time.Since(start)) }()
				return inv.Invoke(ctx, fn, payload)
			}), nil
		},
		RotationFunctionARN: lambdaARN,
	})
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	r.st = st
	res := Result{N: conns * SecretsPerConnection, Connections: conns, AppKeys: conns * AppKeysPerConnection,
		APIKeys: conns * APIKeysPerConnection, Orgs: (conns + ConnectionsPerOrg - 1) / ConnectionsPerOrg}
	res.Owners = 3 * conns // per connection: its owner's keys, its service account's, its organisation's API keys

	start := time.Now()
	if err := r.seed(ctx, conns); err != nil {
		return res, fmt.Errorf("seeding: %w", err)
	}
	res.Seed = time.Since(start)
	cfg.Logf("seeded %d secrets in %v", len(r.arns), res.Seed.Round(time.Millisecond))

	st.Emulator.SetLatency(cfg.SecretsManagerLatency)
	st.Simulator.SetLatency(cfg.DatadogLatency)
	st.Simulator.SetRateLimit(cfg.RateLimit)

	if res.Before, err = r.sweep(ctx); err != nil {
		return res, fmt.Errorf("first sweep: %w", err)
	}
	cfg.Logf("sweep before the burst: %v, %.3f calls per secret", res.Before.Wall.Round(time.Millisecond), res.Before.CallsPerSecret)
	if res.ConnectionsPageP50, res.ListSecretsPageP50, err = r.listPages(ctx); err != nil {
		return res, err
	}
	if res.Burst, err = r.burst(ctx); err != nil {
		return res, fmt.Errorf("rotation burst: %w", err)
	}
	cfg.Logf("burst of %d rotations: finished in %v, %d failed, %d 429s", res.Burst.Rotations, res.Burst.Finish.Round(time.Millisecond), res.Burst.Failed, res.Burst.Throttled)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if res.After, err = r.sweep(ctx); err != nil {
		return res, fmt.Errorf("second sweep: %w", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	res.SweepHeap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
	cfg.Logf("sweep after the burst: %v, %.3f calls per secret", res.After.Wall.Round(time.Millisecond), res.After.CallsPerSecret)
	res.LongestStep = r.steps.get()
	res.LongestInvocation = max(res.LongestStep, res.Before.LongestPage, res.After.LongestPage, res.Before.FanOut, res.After.FanOut)

	if cfg.PageProcess != nil {
		page, err := cfg.PageProcess(ctx, PageTarget{SecretsManagerURL: st.SecretsManagerURL, DatadogURL: st.DatadogURL, Page: res.After.LongestPageRequest})
		if err != nil {
			return res, fmt.Errorf("sweeping a page in its own process: %w", err)
		}
		res.Page = &page
		cfg.Logf("one page in its own process: %v, peak RSS %d kB", page.Duration.Round(time.Millisecond), page.PeakRSS/1024)
	}
	st.Emulator.SetLatency(0)
	st.Simulator.SetLatency(0)
	st.Simulator.SetRateLimit(ddsim.RateLimit{})
	if res.Orphans, res.Unauthenticated, err = r.check(ctx); err != nil {
		return res, fmt.Errorf("checking the end state: %w", err)
	}
	res.PeakRSS = peakRSS()
	return res, nil
}

// seed creates conns connections, each with its owner (a service account
// that manages keys), a service account its managed application keys
// belong to, its managed keys, and rotation enabled on every secret.
func (r *run) seed(ctx context.Context, conns int) error {
	sim := r.st.Simulator
	type job struct{ name, org, apiKey string }
	jobs := make(chan job)
	errc := make(chan error, r.cfg.SeedWorkers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range r.cfg.SeedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				arns, err := r.seedConnection(ctx, j.name, j.org, j.apiKey)
				if err != nil {
					select {
					case errc <- fmt.Errorf("connection %s: %w", j.name, err):
					default:
					}
					continue
				}
				mu.Lock()
				r.arns = append(r.arns, arns...)
				r.orgKey[j.name] = j.apiKey
				mu.Unlock()
			}
		}()
	}
	var org, apiKey string
	for i := range conns {
		if i%ConnectionsPerOrg == 0 {
			org = sim.CreateOrg(fmt.Sprintf("org %d", i/ConnectionsPerOrg))
			apiKey, _ = sim.AddAPIKey(org, "org key")
		}
		jobs <- job{name: fmt.Sprintf("team-%05d", i), org: org, apiKey: apiKey}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := r.st.Emulator.WaitIdle(ctx); err != nil {
		return err
	}
	slices.Sort(r.arns)
	return nil
}

// seedConnection stores a connection as the create function would, enables
// its rotation, and mints its managed keys through the managed-key service
// (which enables theirs).
func (r *run) seedConnection(ctx context.Context, name, org, apiKey string) ([]string, error) {
	sim, st := r.st.Simulator, r.st
	owner := sim.AddUser(org, ddsim.UserSpec{Name: name + " rotator", ServiceAccount: true, Permissions: managerPermissions})
	appKey, keyID := sim.AddAppKey(owner, "supplied by the user", managerPermissions)
	doc := secretkind.Document{URL: siteURL, APIKey: apiKey, Key: appKey, KeyID: keyID, OwnerID: owner,
		OwnerIsServiceAccount: true, Scopes: managerPermissions}
	value, err := secretkind.Connection.Marshal(doc)
	if err != nil {
		return nil, err
	}
	us1, _ := site.ByParam("datadoghq.com")
	sec, err := st.Store.Create(ctx, secretstore.CreateInput{Name: prefix + name, Value: value, Tags: map[string]string{
		secretkind.TagManagedBy: secretkind.ManagedBy, secretkind.TagKeyID: keyID, secretkind.TagOwnerID: owner,
		secretkind.TagOwnerIsServiceAccount: "true", secretkind.TagSite: us1.Name, secretkind.TagKeyLookup: "found",
		secretkind.TagRotateOwnKey: "true", secretkind.TagManageServiceAccountKeys: "true",
	}})
	if err != nil {
		return nil, err
	}
	if _, err := st.Service.EnableRotation(ctx, name, connection.RotationSettings{
		Rules: secretstore.RotationRules{AutomaticallyAfterDays: 30}, RevokePrevious: "next-rotation"}); err != nil {
		return nil, fmt.Errorf("enabling rotation: %w", err)
	}
	arns := []string{sec.ARN}
	sa := sim.AddUser(org, ddsim.UserSpec{Name: name + " services", ServiceAccount: true, Permissions: []string{"metrics_read"}})
	for k := range AppKeysPerConnection {
		key, err := st.ManagedKeys.Mint(ctx, name, managedkey.MintInput{Name: fmt.Sprintf("svc-%d", k), ServiceAccountID: sa,
			Scopes: []string{"metrics_read"}, Rotation: managedkey.RotationInput{Schedule: "30"}})
		if err != nil {
			return nil, fmt.Errorf("minting: %w", err)
		}
		arns = append(arns, key.SecretARN)
	}
	for k := range APIKeysPerConnection {
		key, err := st.ManagedKeys.MintAPIKey(ctx, name, managedkey.APIKeyInput{Name: fmt.Sprintf("agent-%d", k),
			Rotation: managedkey.RotationInput{Schedule: "30"}})
		if err != nil {
			return nil, fmt.Errorf("minting an API key: %w", err)
		}
		arns = append(arns, key.SecretARN)
	}
	return arns, nil
}

// sweep runs one sweep as the rotate function does on AWS: one invocation
// lists the pages (Sweeper.Pages, the fan-out), then each page is swept by
// an invocation of its own (Sweeper.RunPage), PageConcurrency at once. It
// counts the calls every invocation made.
func (r *run) sweep(ctx context.Context) (Sweep, error) {
	sm0, dd0, th0 := r.st.Emulator.Requests(), r.st.Simulator.APIRequests(), r.st.Simulator.Throttled()
	start := time.Now()
	pages, err := r.st.Sweeper.Pages(ctx)
	if err != nil {
		return Sweep{}, err
	}
	s := Sweep{Pages: len(pages), FanOut: time.Since(start)}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, PageConcurrency)
	for _, pg := range pages {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t := time.Now()
			rep, err := r.st.Sweeper.RunPage(ctx, pg)
			took := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			if took > s.LongestPage {
				s.LongestPage, s.LongestPageRequest = took, pg
			}
			s.PageTotal += took
			s.Report.Connections += rep.Connections
			s.Report.Swept += rep.Swept
			s.Report.Revoked += rep.Revoked
			s.Report.Failed += rep.Failed
			s.Report.Listings += rep.Listings
			s.Report.Unread += rep.Unread
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	s.Wall = time.Since(start)
	s.SMCalls, s.DDCalls, s.Throttled = r.st.Emulator.Requests()-sm0, r.st.Simulator.APIRequests()-dd0, r.st.Simulator.Throttled()-th0
	s.CallsPerSecret = float64(s.SMCalls+s.DDCalls) / float64(len(r.arns))
	s.DatadogCallsAllowed = s.Report.Listings + s.Report.Swept + s.Report.Revoked
	return s, errors.Join(errs...)
}

// listPages measures GET /connections?limit=100 over HTTP and one
// ListSecrets page, 15 of each, interleaved.
func (r *run) listPages(ctx context.Context) (api, list time.Duration, err error) {
	var a, l []time.Duration
	for range 15 {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.st.APIURL+"/connections?limit=100", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("GET /connections: %s", resp.Status)
		}
		a = append(a, time.Since(start))
		start = time.Now()
		if _, _, err := r.st.Store.List(ctx, prefix, 100, ""); err != nil {
			return 0, 0, err
		}
		l = append(l, time.Since(start))
	}
	return median(a), median(l), nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// burst starts N/10 rotations at once, as one rotation window does, and
// waits for every one to succeed or give up after the emulator's retries.
func (r *run) burst(ctx context.Context) (Burst, error) {
	var picked []string
	for i, arn := range r.arns {
		if i%10 == 0 {
			picked = append(picked, arn)
		}
	}
	b := Burst{Rotations: len(picked)}
	th0, dd0 := r.st.Simulator.Throttled(), r.st.Simulator.APIRequests()
	tokens := make([]string, len(picked))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(picked))
	sem := make(chan struct{}, 64)
	for i, arn := range picked {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tokens[i], errs[i] = r.st.Store.Rotate(ctx, arn, secretstore.RotateInput{LambdaARN: lambdaARN})
		}()
	}
	wg.Wait()
	b.Start = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	if err := r.st.Emulator.WaitIdle(ctx); err != nil {
		return b, err
	}
	b.Finish = time.Since(start)
	b.Throttled, b.DDCalls = r.st.Simulator.Throttled()-th0, r.st.Simulator.APIRequests()-dd0
	for i, arn := range picked {
		sec, err := r.st.Store.Describe(ctx, arn)
		if err != nil {
			return b, err
		}
		if cur, _ := sec.CurrentVersion(); cur != tokens[i] {
			b.Failed++
		}
	}
	return b, nil
}

// check counts orphaned keys (named for a secret, held by no labelled
// version, covered by no retirement) and secrets whose AWSCURRENT key
// Datadog refuses.
func (r *run) check(ctx context.Context) (orphans, refused int, err error) {
	held := map[string]bool{}
	for _, arn := range r.arns {
		sec, err := r.st.Store.Describe(ctx, arn)
		if err != nil {
			return 0, 0, err
		}
		n, _ := secretkind.ParseName(prefix, sec.Name)
		for k := range sec.Tags {
			if id, ok := strings.CutPrefix(k, secretkind.TagRetirePrefix); ok {
				held[id] = true
			}
		}
		for id := range sec.Versions {
			v, err := r.st.Store.Get(ctx, arn, id, "")
			if errors.Is(err, secretstore.ErrNotFound) {
				continue
			}
			if err != nil {
				return 0, 0, err
			}
			d, err := n.Kind.Parse(v.Value)
			if err != nil {
				return 0, 0, err
			}
			held[d.KeyID] = true
			if id != mustCurrent(sec) {
				continue
			}
			if !r.authenticates(ctx, n, d) {
				refused++
			}
		}
	}
	for _, k := range r.st.Simulator.Keys() {
		if (strings.HasPrefix(k.Name, "ddconn@") || strings.HasPrefix(k.Name, "ddconn-managed@")) && !held[k.ID] {
			orphans++
		}
	}
	return orphans, refused, nil
}

func mustCurrent(sec secretstore.Secret) string {
	cur, _ := sec.CurrentVersion()
	return cur
}

// authenticates reports whether Datadog accepts the document's key.
func (r *run) authenticates(ctx context.Context, n secretkind.Name, d secretkind.Document) bool {
	us1, _ := site.ByParam("datadoghq.com")
	cr := datadog.Credentials{Site: us1, APIKey: cmp.Or(d.APIKey, r.orgKey[n.Connection]), AppKey: d.Key}
	if n.Kind == secretkind.APIKey {
		return r.st.Datadog.ValidateAPIKey(ctx, datadog.Credentials{Site: us1, APIKey: d.Key}) == nil
	}
	return r.st.Datadog.ValidateKeys(ctx, cr) == nil
}

// peakRSS is the process's peak resident set (VmHWM), in bytes; 0 where
// /proc is missing.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
