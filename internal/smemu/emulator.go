package smemu

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures an Emulator. Zero values give the defaults shown.
type Options struct {
	Region        string        // "us-east-1"
	AccountID     string        // "123456789012"
	Clock         *Clock        // nil: NewClock(time.Now)
	Invoker       Invoker       // nil: RotateSecret answers AccessDeniedException (cannot invoke)
	RetryInterval time.Duration // wall-clock delay before a failed rotation is re-attempted; default 1m (tests use ms, make dev seconds)
	MaxAttempts   int           // attempts per rotation before it is left incomplete until the next RotateSecret/schedule; default 5
	TickInterval  time.Duration // how often the scheduler checks due rotations; default 1s
	Latency       time.Duration // added to every API request before it is served (the round trip to AWS); 0 none; SetLatency changes it
	MaxParallel   int           // rotation attempts of different secrets run at once; default 256 (one at a time per secret, always)
	DataFile      string        // "": memory only; else load at New, save atomically (temp file + rename) after each mutation
	Logger        *slog.Logger  // nil: discard
}

// Defaults applied by New.
const (
	DefaultRegion        = "us-east-1"
	DefaultAccountID     = "123456789012"
	DefaultRetryInterval = time.Minute
	defaultMaxAttempts   = 5
	defaultTickInterval  = time.Second
	defaultMaxParallel   = 256
)

func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Clock == nil {
		o.Clock = NewClock(time.Now)
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	if o.TickInterval <= 0 {
		o.TickInterval = defaultTickInterval
	}
	if o.MaxParallel <= 0 {
		o.MaxParallel = defaultMaxParallel
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Emulator is an in-process AWS Secrets Manager: it serves the AWS JSON 1.1
// API over HTTP and runs rotations from its own scheduler goroutine: the
// attempts of different secrets run at once, each secret's one at a time.
type Emulator struct {
	opts   Options
	clock  *Clock
	log    *slog.Logger
	faults faultSet

	mu       sync.Mutex
	seq      int64
	secrets  map[string]*secret      // by ARN
	jobs     map[string]*rotationJob // by secret ARN: at most one rotation per secret
	running  map[string]*rotationJob // by secret ARN: the job whose attempt is running
	attempts sync.WaitGroup          // attempts in flight
	latency  atomic.Int64            // time.Duration: Options.Latency, SetLatency
	requests atomic.Int64            // API requests served
	changed  chan struct{}           // closed and replaced whenever jobs change
	wake     chan struct{}           // nudges the scheduler
	saveMu   sync.Mutex              // orders snapshot writes
	started  bool
	closed   bool
	stop     context.CancelFunc
	done     chan struct{}
}

// New builds an Emulator, loading Options.DataFile when it exists.
func New(opts Options) (*Emulator, error) {
	opts = opts.withDefaults()
	e := &Emulator{
		opts:    opts,
		clock:   opts.Clock,
		log:     opts.Logger,
		secrets: map[string]*secret{},
		jobs:    map[string]*rotationJob{},
		running: map[string]*rotationJob{},
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
	e.latency.Store(int64(opts.Latency))
	if opts.DataFile != "" {
		if err := e.load(opts.DataFile); err != nil {
			return nil, fmt.Errorf("loading emulator data from %s: %w", opts.DataFile, err)
		}
	}
	return e, nil
}

// Start starts the rotation scheduler goroutine; idempotent.
func (e *Emulator) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.closed {
		return
	}
	e.started = true
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.done = make(chan struct{})
	go e.work(ctx, e.done)
}

// Close stops the scheduler, waits for it and every attempt, and flushes DataFile. A rotation
// step in flight is cancelled through its context.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	stop, done := e.stop, e.done
	e.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return e.save()
}

// SetLatency sets the latency added to every API request (Options.Latency).
func (e *Emulator) SetLatency(d time.Duration) { e.latency.Store(int64(d)) }

// Requests returns how many API requests (not admin ones) the emulator has
// received.
func (e *Emulator) Requests() int64 { return e.requests.Load() }

// AddFault arms a fault for the next calls of an operation.
func (e *Emulator) AddFault(f Fault) { e.faults.add(f) }

// ClearFaults disarms every fault.
func (e *Emulator) ClearFaults() { e.faults.clear() }

// Faults returns the armed faults, Count being the calls each still affects.
func (e *Emulator) Faults() []Fault { return e.faults.list() }

// Clock returns the clock every stored date is read from.
func (e *Emulator) Clock() *Clock { return e.clock }

// Advance moves the clock and synchronously queues rotations that became due
// (and purges secrets whose recovery window ended).
func (e *Emulator) Advance(d time.Duration) {
	e.clock.Advance(d)
	e.mu.Lock()
	changed := e.scheduleDueLocked()
	e.mu.Unlock()
	e.nudge()
	if changed {
		e.saveLogged()
	}
}

// WaitIdle returns once no rotation is running or queued for retry.
func (e *Emulator) WaitIdle(ctx context.Context) error {
	for {
		e.mu.Lock()
		idle, changed := len(e.jobs) == 0 && len(e.running) == 0, e.changed
		e.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for rotations to finish: %w", ctx.Err())
		}
	}
}

// liveARN returns the current ARN of a live (not deleted) secret.
func (e *Emulator) liveARN(name string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.byName(name)
	if s == nil || s.deleted() {
		return "", false
	}
	return s.ARN, true
}

// jobsChangedLocked wakes every WaitIdle caller.
func (e *Emulator) jobsChangedLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// nudge wakes the scheduler without blocking.
func (e *Emulator) nudge() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Emulator) nextSeq() int64 {
	e.seq++
	return e.seq
}
