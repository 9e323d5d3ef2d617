package busemu

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ddconn/ddconn/pkg/awsid"
)

// Defaults of Options.
const (
	defaultRegion  = "us-east-1"
	defaultAccount = "123456789012"
	// DefaultBus is the bus every account has; entries without an
	// EventBusName go there.
	DefaultBus = "default"
)

// defaultRetryDelays are the waits before each retry of a failed delivery:
// Lambda retries a failed asynchronous invocation twice, one minute after
// the first attempt and two minutes after the second (Lambda developer
// guide, "How Lambda handles errors and retries with asynchronous
// invocation").
var defaultRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Options configures a Bus.
type Options struct {
	// Region appears in event envelopes and bus ARNs; "" means defaultRegion.
	Region string
	// Account appears in event envelopes and bus ARNs; "" means
	// defaultAccount. It must be 12 digits.
	Account string
	// Now is the clock of event times; nil means time.Now.
	Now func() time.Time
	// Logger receives one record per call and per delivery attempt; nil
	// discards. Records carry ids, sources and detail-types, never Detail.
	Logger *slog.Logger
	// RetryDelays are the waits before each retry of a failed delivery to a
	// rule's target; nil means defaultRetryDelays, an empty non-nil slice
	// means no retry. Tests pass short delays.
	RetryDelays []time.Duration
	// Buses are the custom buses besides DefaultBus, by name.
	Buses []string
}

// Bus is a local EventBridge: one account in one region, its event buses,
// the events put on them, and rules that deliver matching events to
// targets. It serves PutEvents over HTTP (ServeHTTP) and in process (Put).
// It is safe for concurrent use.
type Bus struct {
	region, account string
	now             func() time.Time
	log             *slog.Logger
	retryDelays     []time.Duration
	faults          faultQueue

	mu      sync.Mutex
	buses   map[string]bool
	rules   []Rule
	events  []Event
	dropped []Event
	dead    []DeadLetter

	deliveries deliveries
}

// New returns a Bus with DefaultBus and opts.Buses.
func New(opts Options) (*Bus, error) {
	b := &Bus{
		region:      opts.Region,
		account:     opts.Account,
		now:         opts.Now,
		log:         opts.Logger,
		retryDelays: opts.RetryDelays,
		buses:       map[string]bool{DefaultBus: true},
	}
	if b.region == "" {
		b.region = defaultRegion
	}
	if b.account == "" {
		b.account = defaultAccount
	}
	if !awsid.IsAccountID(b.account) {
		return nil, fmt.Errorf("busemu: account %q is not 12 digits", b.account)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if b.retryDelays == nil {
		b.retryDelays = defaultRetryDelays
	}
	for _, name := range opts.Buses {
		if !awsid.IsEventBusName(name) {
			return nil, fmt.Errorf("busemu: %q is not a valid event bus name", name)
		}
		b.buses[name] = true
	}
	b.deliveries.init()
	return b, nil
}

// BusARN returns the ARN of the bus called name in the Bus's account and
// region.
func (b *Bus) BusARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", b.region, b.account, name)
}

// Idle waits until no delivery is in flight or waiting for a retry, or ctx
// ends.
func (b *Bus) Idle(ctx context.Context) error {
	return b.deliveries.idle(ctx)
}

// Close stops deliveries: targets in flight see their context cancelled,
// retries not yet started are abandoned (neither attempted nor
// dead-lettered). Close waits for running targets to return. Events put
// afterwards are still recorded but delivered to no rule.
func (b *Bus) Close() error {
	b.deliveries.close()
	return nil
}
