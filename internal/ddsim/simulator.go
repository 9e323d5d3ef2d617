package ddsim

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by New for zero-valued Options fields.
const (
	// defaultMaxKeysPerUser is the application-key limit per owner when
	// Options.MaxKeysPerUser is 0. Datadog's real default is unconfirmed; it
	// is reported as meta.max_allowed_per_user in list responses.
	defaultMaxKeysPerUser = 50
	// defaultRatePeriod is the rate-limit window when Options.RatePeriod is 0.
	defaultRatePeriod = 10 * time.Second
	// maxAPIKeysPerOrg is the API-key limit per organisation (Datadog's
	// documented value), reported as meta.max_allowed in API key lists.
	maxAPIKeysPerOrg = 50
)

// Options configures a Simulator. Zero values give the defaults shown.
type Options struct {
	// Now is the simulator's clock; nil means time.Now. Key timestamps,
	// activation delays and rate-limit windows all read it.
	Now func() time.Time
	// ActivationDelay makes keys created over HTTP fail auth (403) until this
	// long after creation; 0 means they work at once. Keys added with the Go
	// helpers are never delayed.
	ActivationDelay time.Duration
	// MaxKeysPerUser limits application keys per owner; 0 means
	// defaultMaxKeysPerUser. Creating one more answers 400 with an errors body
	// (Datadog's status here is unconfirmed; 400 is the only client-error
	// status the create operations declare besides 403).
	MaxKeysPerUser int
	// RateLimit is the number of requests allowed per RatePeriod per API key;
	// 0 means unlimited.
	RateLimit int
	// RatePeriod is the rate-limit window, aligned to the clock; 0 means
	// defaultRatePeriod.
	RatePeriod time.Duration
	// ShowKeyOnRead turns One-Time-Read off: the current-user GET and PATCH
	// responses then include the key secret. By default (false) `key` is only
	// returned in 201 responses.
	ShowKeyOnRead bool
	// Latency is added to every /api/ request before it is served, as the
	// round trip from AWS to Datadog would; 0 means none. SetLatency
	// changes it.
	Latency time.Duration
	// DataFile, when set, is loaded by New and rewritten atomically after each
	// mutation. It holds key secrets, so it is written with mode 0600.
	DataFile string
	// Logger receives one JSON-friendly record per request; nil discards.
	Logger *slog.Logger
}

// Simulator is an in-memory Datadog API (keys, users, service accounts and
// permissions) served over HTTP. It is safe for concurrent use.
type Simulator struct {
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	apiHit atomic.Int64
	// throttled counts the requests answered 429 by the rate limit.
	throttled atomic.Int64
	latency   atomic.Int64 // time.Duration

	mu      sync.Mutex // guards everything below
	st      *state
	faults  []Fault
	windows map[string]*rateWindow // keyed by API key id
}

// New returns a simulator configured by opts. With opts.DataFile set it loads
// that file when it exists and fails when it cannot be read or parsed.
func New(opts Options) (*Simulator, error) {
	s := &Simulator{
		opts:    opts,
		now:     opts.Now,
		log:     opts.Logger,
		st:      newState(),
		windows: map[string]*rateWindow{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	s.latency.Store(int64(opts.Latency))
	if s.opts.MaxKeysPerUser <= 0 {
		s.opts.MaxKeysPerUser = defaultMaxKeysPerUser
	}
	if s.opts.RatePeriod <= 0 {
		s.opts.RatePeriod = defaultRatePeriod
	}
	if opts.DataFile != "" {
		st, err := loadState(opts.DataFile)
		if err != nil {
			return nil, err
		}
		s.st = st
	}
	s.mux = s.routes()
	return s, nil
}

// ServeHTTP serves the Datadog API under /api/ and the admin paths under
// /_sim/. Injected faults apply to every path except /_sim/.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.mux.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.apiHit.Add(1)
		if !wait(r, time.Duration(s.latency.Load())) {
			return
		}
	}
	if f, ok := s.takeFault(r.Method, r.URL.Path); ok {
		s.serveFaulted(f, w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// SetLatency sets the latency added to every /api/ request (Options.Latency).
func (s *Simulator) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// Throttled returns how many requests the rate limit has answered with 429
// (faults that answer 429 are not counted).
func (s *Simulator) Throttled() int64 { return s.throttled.Load() }

// APIRequests returns how many /api/ requests the simulator has received,
// including rejected and faulted ones.
func (s *Simulator) APIRequests() int64 {
	return s.apiHit.Load()
}

// persistLocked saves the state when a DataFile is configured. A failed save
// is logged and returned; HTTP handlers only log it, because the in-memory
// state stays authoritative and the next mutation tries again. s.mu must be
// held.
func (s *Simulator) persistLocked() error {
	if s.opts.DataFile == "" {
		return nil
	}
	err := saveState(s.opts.DataFile, s.st)
	if err != nil {
		s.log.Error("saving simulator state", slog.String("error", err.Error()))
	}
	return err
}
