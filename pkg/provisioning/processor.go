package provisioning

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// connections creates connections; *connection.Service implements it.
type connections interface {
	Create(ctx context.Context, in connection.CreateInput) (connection.Connection, error)
	CreatedBy(ctx context.Context, name, requestID string) (connection.Connection, bool, error)
}

// managedKeys mints and deletes managed keys; *managedkey.Service
// implements it.
type managedKeys interface {
	Mint(ctx context.Context, conn string, in managedkey.MintInput) (managedkey.AppKey, error)
	MintAPIKey(ctx context.Context, conn string, in managedkey.APIKeyInput) (managedkey.APIKey, error)
	Delete(ctx context.Context, conn, name string, keepKeys bool) error
	DeleteAPIKey(ctx context.Context, conn, name string, keepKeys bool) error
}

// staging reads and deletes staging secrets; *secretstore.Store implements
// it.
type staging interface {
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error)
}

// publisher puts outcome events on the bus; *eventbus.Publisher
// implements it.
type publisher interface {
	Publish(ctx context.Context, detailType string, detail any, resources ...string) (string, error)
}

var (
	_ connections = (*connection.Service)(nil)
	_ managedKeys = (*managedkey.Service)(nil)
	_ staging     = (*secretstore.Store)(nil)
)

// Options configures a Processor.
type Options struct {
	// Prefix starts the name of every connection secret; staging secrets
	// are named Prefix + StagingPrefix + anything.
	Prefix string
	// Publisher receives the outcomes; nil only logs them (a deployment
	// without a bus).
	Publisher publisher
	// Logger receives one record per request; nil discards.
	Logger *slog.Logger
}

// Processor carries out request events and publishes their outcomes. It
// is safe for concurrent use.
type Processor struct {
	conns   connections
	keys    managedKeys
	staging staging
	pub     publisher
	prefix  string
	log     *slog.Logger
}

// New returns a Processor over the given services.
func New(conns connections, keys managedKeys, staging staging, opts Options) *Processor {
	p := &Processor{conns: conns, keys: keys, staging: staging, pub: opts.Publisher, prefix: opts.Prefix, log: opts.Logger}
	if p.log == nil {
		p.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return p
}

// outcome is an event to publish.
type outcome struct {
	detailType string
	detail     any
	resources  []string
}

// ErrRetry wraps the error Handle returns to have Lambda deliver the event
// again: a backing service was unavailable, or the outcome could not be
// published. Every request is idempotent in its event id, so a retry
// repeats nothing that was done.
var ErrRetry = errors.New("the event should be delivered again")

// Handle carries out one request event and publishes its outcome. It
// returns an error (wrapping ErrRetry) only when the event should be
// delivered again; a request that cannot succeed - an invalid event, a
// refused request - is answered with a "Provisioning Failed" outcome and
// a nil error, so Lambda does not retry it.
func (p *Processor) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	log := p.log.With(slog.String("event_id", echo(ev.ID, validEventID)), slog.String("detail_type", echo(ev.DetailType, isRequestType)))
	out, err := p.carryOut(ctx, ev)
	var f *failure
	if err != nil {
		f = failureOf(err)
		out = outcome{detailType: ProvisioningFailed, detail: Failed{
			RequestID: echo(ev.ID, validEventID), Request: echo(ev.DetailType, isRequestType), Reason: f.reason,
			Message: logging.Scrub(f.message), Details: connection.ScrubDetails(f.details), Retryable: f.reason == ReasonUnavailable,
		}}
		log.WarnContext(ctx, "provisioning request failed", slog.String("reason", f.reason), slog.Any("error", f))
	} else {
		log.InfoContext(ctx, "provisioning request carried out", slog.String("outcome", out.detailType))
	}
	if perr := p.publish(ctx, out); perr != nil {
		log.ErrorContext(ctx, "publishing the outcome failed; the event will be retried", slog.String("outcome", out.detailType), slog.Any("error", perr))
		return fmt.Errorf("%w: publishing %q: %w", ErrRetry, out.detailType, perr)
	}
	if f != nil && f.reason == ReasonUnavailable {
		return fmt.Errorf("%w: %w", ErrRetry, f)
	}
	return nil
}

// echo returns an event's field for an outcome if it is valid, and ""
// otherwise: an invalid event's fields are unbounded input.
func echo(field string, valid func(string) bool) string {
	if valid(field) {
		return field
	}
	return ""
}

func isRequestType(detailType string) bool { return slices.Contains(RequestTypes, detailType) }

func (p *Processor) publish(ctx context.Context, out outcome) error {
	if p.pub == nil {
		return nil
	}
	_, err := p.pub.Publish(ctx, out.detailType, out.detail, out.resources...)
	return err
}

// carryOut checks the event and dispatches it by detail type.
func (p *Processor) carryOut(ctx context.Context, ev events.EventBridgeEvent) (outcome, error) {
	req, err := parse(ev)
	if err != nil {
		return outcome{}, err
	}
	switch d := req.detail.(type) {
	case *CreateConnectionDetail:
		return p.createConnection(ctx, req.id, d)
	case *ProvisionApplicationKeyDetail:
		return p.provisionAppKey(ctx, req.id, d)
	case *ProvisionAPIKeyDetail:
		return p.provisionAPIKey(ctx, req.id, d)
	case *DeleteManagedKeyDetail:
		return p.deleteKey(ctx, req.id, d)
	}
	return outcome{}, fmt.Errorf("no handler for detail type %q", req.detailType)
}
