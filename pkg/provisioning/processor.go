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

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/metrics"
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
	// Policy is the access policy that attributes an event's account, or
	// the team bus it came through, to teams; nil means none: every event
	// acts as an administrator.
	Policy access.Source
	// Audit receives one audit record per request (access.Audit); nil
	// means Logger.
	Audit *slog.Logger
	// Metrics receives Refusals; nil discards.
	Metrics *metrics.Writer
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
	audit   *slog.Logger
	policy  access.Source
	metrics *metrics.Writer
}

// New returns a Processor over the given services.
func New(conns connections, keys managedKeys, staging staging, opts Options) *Processor {
	p := &Processor{conns: conns, keys: keys, staging: staging, pub: opts.Publisher, prefix: opts.Prefix, log: opts.Logger,
		audit: opts.Audit, policy: opts.Policy, metrics: opts.Metrics}
	if p.log == nil {
		p.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if p.audit == nil {
		p.audit = p.log
	}
	if p.policy == nil {
		p.policy = access.Static{}
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
	return p.handle(ctx, ev, "", nil)
}

// handle carries out ev, which came through the team bus bus ("" for the
// stack's own bus); a non-nil refused refuses it without carrying it out.
func (p *Processor) handle(ctx context.Context, ev events.EventBridgeEvent, bus string, refused error) error {
	log := p.log.With(slog.String("event_id", echo(ev.ID, validEventID)), slog.String("detail_type", echo(ev.DetailType, isRequestType)))
	ctx, note := access.WithNote(ctx)
	ctx, out, err := p.attributed(ctx, ev, bus, refused)
	if err != nil && note.Hidden {
		// The connection exists, in a team the event is not attributed to.
		err = access.Forbidden("the event's account, or the team bus it came through, is not attributed to the connection's team in the access policy")
	}
	p.record(ctx, ev, note, err)
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

// attributed resolves the event's account, or the team bus it came
// through, against the access policy into the caller of the returned
// context, and carries the event out as that caller unless refused. A
// policy that cannot be read makes the event unavailable: it is retried.
func (p *Processor) attributed(ctx context.Context, ev events.EventBridgeEvent, bus string, refused error) (context.Context, outcome, error) {
	policy, err := p.policy.Policy(ctx)
	if err != nil {
		return ctx, outcome{}, &failure{reason: ReasonUnavailable, message: "the access policy could not be read" + retryingSuffix, cause: err}
	}
	ctx = access.WithCaller(ctx, access.Resolve(policy, access.Identity{Kind: access.KindEvent, Account: ev.AccountID, Bus: bus}))
	if refused != nil {
		return ctx, outcome{}, refused
	}
	out, err := p.carryOut(ctx, ev)
	return ctx, out, err
}

// record writes the event's audit record, and counts a refusal.
func (p *Processor) record(ctx context.Context, ev events.EventBridgeEvent, note *access.Note, err error) {
	rec := access.Record{Action: echo(ev.DetailType, isRequestType), Target: note.Target, Team: note.Team, Outcome: access.OutcomeAllowed}
	switch {
	case errors.Is(err, access.ErrForbidden):
		rec.Outcome, rec.Code = access.OutcomeRefused, ReasonForbidden
		if merr := p.metrics.Count(metrics.Refusals, 1); merr != nil {
			p.log.WarnContext(ctx, "writing a metric failed", slog.Any("error", merr))
		}
	case err != nil:
		rec.Outcome, rec.Code = access.OutcomeFailed, failureOf(err).reason
	}
	access.Audit(ctx, p.audit, rec)
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
		access.NoteTarget(ctx, d.Name)
		return p.createConnection(ctx, req.id, d)
	case *ProvisionApplicationKeyDetail:
		access.NoteTarget(ctx, d.Connection+"/"+d.Name)
		return p.provisionAppKey(ctx, req.id, d)
	case *ProvisionAPIKeyDetail:
		access.NoteTarget(ctx, d.Connection+"/"+d.Name)
		return p.provisionAPIKey(ctx, req.id, d)
	case *DeleteManagedKeyDetail:
		access.NoteTarget(ctx, d.Connection+"/"+d.Name)
		return p.deleteKey(ctx, req.id, d)
	}
	return outcome{}, fmt.Errorf("no handler for detail type %q", req.detailType)
}
