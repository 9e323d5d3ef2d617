package rotation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
)

// Event is a Secrets Manager rotation event; it decodes from the event's
// JSON as Lambda delivers it.
type Event struct {
	// Step is one of rotationstate.StepCreate, rotationstate.StepSet, rotationstate.StepTest and rotationstate.StepFinish.
	Step string `json:"Step"`
	// SecretID is the secret's ARN.
	SecretID string `json:"SecretId"`
	// ClientRequestToken is the id of the version being rotated in.
	ClientRequestToken string `json:"ClientRequestToken"`
	// RotationToken is passed back to PutSecretValue; "" when Secrets
	// Manager sends none.
	RotationToken string `json:"RotationToken"`
}

// secretStore is what rotation needs from Secrets Manager;
// *secretstore.Store implements it.
type secretStore interface {
	secretReader
	secretWriter
	secretTagger
}

type secretReader interface {
	Describe(ctx context.Context, id string) (secretstore.Secret, error)
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	WithTag(ctx context.Context, namePrefix, key, value string) ([]secretstore.Secret, error)
}

type secretWriter interface {
	Put(ctx context.Context, id, token, value string, stages []string, rotationToken string) (string, error)
	MoveStage(ctx context.Context, id, stage, moveTo, removeFrom string) error
}

type secretTagger interface {
	Tag(ctx context.Context, id string, tags map[string]string) error
	Untag(ctx context.Context, id string, keys []string) error
}

// datadogAPI is what the steps call Datadog with: every kind's key
// operations (secretkind.Datadog). A connection's key rotates itself,
// authenticated as its owner, on the current-user routes; managed keys are
// managed with their connection's current keys (see keyManager).
type datadogAPI = secretkind.Datadog

var _ secretStore = (*secretstore.Store)(nil)

// Activation bounds testSecret's wait for a new key to authenticate: Datadog
// takes up to a few seconds to accept a new application key.
type Activation struct {
	// Initial is the first delay between attempts (default 250 ms); each
	// later delay doubles, up to Max (default 4 s).
	Initial, Max time.Duration
	// Timeout bounds the total time spent waiting between attempts
	// (default 60 s); the calls themselves are bounded by the client.
	Timeout time.Duration
}

func (a Activation) withDefaults() Activation {
	if a.Initial <= 0 {
		a.Initial = 250 * time.Millisecond
	}
	if a.Max <= 0 {
		a.Max = 4 * time.Second
	}
	if a.Timeout <= 0 {
		a.Timeout = 60 * time.Second
	}
	return a
}

// Options configures a Rotator.
type Options struct {
	// Prefix starts the name of every connection secret; the connection's
	// name is the rest.
	Prefix string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one record per step; nil discards.
	Logger *slog.Logger
	// Metrics receives the step and revocation counts; nil discards.
	Metrics *metrics.Writer
	// Activation bounds testSecret's wait for the new key.
	Activation Activation
	// Publisher, when set, receives a FailedEvent for every failed step.
	Publisher publisher
}

// Rotator carries out the rotation steps of connection secrets. It is safe
// for concurrent use; it keeps no state between calls, so every step can
// run in a fresh process.
type Rotator struct {
	secrets secretStore
	dd      datadogAPI
	prefix  string
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics.Writer
	act     Activation
	pub     publisher
}

// New returns a Rotator over the given adapters.
func New(secrets secretStore, dd datadogAPI, opts Options) *Rotator {
	r := &Rotator{
		secrets: secrets, dd: dd, prefix: opts.Prefix, now: opts.Now,
		log: opts.Logger, metrics: opts.Metrics, act: opts.Activation.withDefaults(), pub: opts.Publisher,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return r
}

// report is what a step tells the log: its outcome and the key ids involved.
type report struct {
	outcome string
	attrs   []slog.Attr
}

type stepFunc func(r *Rotator, ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event) (report, error)

var steps = map[string]stepFunc{
	rotationstate.StepCreate: (*Rotator).createSecret,
	rotationstate.StepSet:    (*Rotator).setSecret,
	rotationstate.StepTest:   (*Rotator).testSecret,
	rotationstate.StepFinish: (*Rotator).finishSecret,
}

// reportTimeout bounds recording and publishing a step's failure.
const reportTimeout = 5 * time.Second

// Handle runs one rotation step. It writes one log record and one metric
// for the step; on failure it also records the error on the secret
// (secretkind.TagLastError), unless the secret is not a connection, and returns it, so
// Secrets Manager retries the rotation.
func (r *Rotator) Handle(ctx context.Context, ev Event) error {
	start := r.now()
	rep, err := r.run(ctx, ev)
	if err != nil {
		err = fmt.Errorf("%s of %s: %w", ev.Step, ev.SecretID, err)
		rep.outcome = "failed"
		if !errors.Is(err, ErrForeignSecret) {
			// The step may have failed because its context ran out (the
			// invocation's deadline less a margin): the failure is still
			// written down and published, on a context of its own.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
			r.recordError(rctx, ev, err)
			r.publishFailure(rctx, ev, err)
			cancel()
		}
	}
	r.logStep(ctx, ev, rep, err, r.now().Sub(start))
	r.countStep(ev.Step, err)
	return err
}

func (r *Rotator) run(ctx context.Context, ev Event) (report, error) {
	n, sec, committed, err := r.check(ctx, ev)
	if err != nil {
		return report{}, err
	}
	step, ok := steps[ev.Step]
	switch {
	case !ok:
		return report{}, fmt.Errorf("%w %q", ErrUnknownStep, ev.Step)
	case committed:
		return r.alreadyCurrent(ctx, n, sec, ev)
	}
	rep, err := step(r, ctx, n, sec, ev)
	if err == nil && ev.Step != rotationstate.StepFinish {
		r.recordProgress(ctx, sec, ev)
	}
	return rep, err
}

// recordProgress records on the secret that ev's step has completed, for
// the API to show how far the rotation has got (rotationstate.State.Step).
// It is best effort: the step has succeeded, and the record only informs.
func (r *Rotator) recordProgress(ctx context.Context, sec secretstore.Secret, ev Event) {
	done := rotationstate.StepDone(ev.Step, ev.ClientRequestToken)
	if sec.Tags[secretkind.TagRotationStep] == done {
		return
	}
	if err := r.secrets.Tag(ctx, sec.ARN, map[string]string{secretkind.TagRotationStep: done}); err != nil {
		r.warn(ctx, sec.ARN, "recording the rotation's progress failed", err)
	}
}

// check makes the checks every step starts with (the AWS rotation
// template's): the secret is a connection with rotation enabled, the token
// is one of its versions, and that version is AWSPENDING — or already
// AWSCURRENT, in which case the rotation is committed and the step has
// nothing left to do.
func (r *Rotator) check(ctx context.Context, ev Event) (n secretkind.Name, sec secretstore.Secret, committed bool, err error) {
	sec, err = r.secrets.Describe(ctx, ev.SecretID)
	if err != nil {
		return n, sec, false, err
	}
	if n, err = r.name(sec); err != nil {
		return n, sec, false, err
	}
	if !sec.RotationEnabled {
		return n, sec, false, ErrRotationDisabled
	}
	stages, ok := sec.Versions[ev.ClientRequestToken]
	switch {
	case !ok:
		return n, sec, false, fmt.Errorf("%w: %s", ErrUnknownVersion, ev.ClientRequestToken)
	case slices.Contains(stages, secretstore.Current):
		return n, sec, true, nil
	case !slices.Contains(stages, secretstore.Pending):
		return n, sec, false, fmt.Errorf("%w: %s", ErrNotPending, ev.ClientRequestToken)
	}
	return n, sec, false, nil
}

// alreadyCurrent handles a step of a committed rotation: Secrets Manager
// retrying after a crash or a lost answer. Only finishSecret has work left:
// the revocations and tags that followed the promotion may not have run.
func (r *Rotator) alreadyCurrent(ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event) (report, error) {
	rep := report{outcome: "already-current"}
	if ev.Step != rotationstate.StepFinish {
		return rep, nil
	}
	if slices.Contains(sec.Versions[ev.ClientRequestToken], secretstore.Pending) {
		// The attempt that promoted the token stopped before removing
		// AWSPENDING; finish the job so the connection reads as idle.
		if err := r.secrets.MoveStage(ctx, sec.ARN, secretstore.Pending, "", ev.ClientRequestToken); err != nil {
			r.warn(ctx, sec.ARN, "removing AWSPENDING after the promotion failed", err)
		}
	}
	rep.attrs = r.afterPromotion(ctx, n, sec.ARN, sec.Tags, ev.ClientRequestToken)
	return rep, nil
}

// document reads and parses one version of secret n, described as sec
// (whose tags a plain API key's versions are read with).
func (r *Rotator) document(ctx context.Context, n secretkind.Name, sec secretstore.Secret, versionID, stage string) (secretkind.Document, error) {
	v, err := r.secrets.Get(ctx, sec.ARN, versionID, stage)
	if err != nil {
		return secretkind.Document{}, err
	}
	d, err := secretkind.ParseVersion(n.Kind, v.Value, v.ID, sec.Tags)
	if err != nil {
		return secretkind.Document{}, fmt.Errorf("%w: version %s: %w", ErrNotConnection, v.ID, err)
	}
	return d, nil
}

// docSite is the site of a document; a URL off the allow-list makes the
// document unusable.
func docSite(d secretkind.Document) (site.Site, error) {
	s, err := d.Site()
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrNotConnection, err)
	}
	return s, nil
}

// credentials are the credentials d's key authenticates as (see
// secretkind.Kind.Credentials).
func credentials(k secretkind.Kind, d secretkind.Document, m secretkind.Manager) (datadog.Credentials, error) {
	cr, err := k.Credentials(d, m)
	if err != nil {
		return cr, fmt.Errorf("%w: %w", ErrNotConnection, err)
	}
	return cr, nil
}

// recordError writes the step's error to the secret so the API can show it,
// with anything shaped like a key scrubbed before the tag's length limit
// could cut a key short of recognition.
// It is best effort: the step has failed already, and a failed tag write
// must not hide why.
func (r *Rotator) recordError(ctx context.Context, ev Event, stepErr error) {
	msg := secretkind.TagValue(r.now().UTC().Format(time.RFC3339) + " " + logging.Scrub(stepErr.Error()))
	if err := r.secrets.Tag(ctx, ev.SecretID, map[string]string{secretkind.TagLastError: msg}); err != nil {
		r.log.WarnContext(ctx, "recording the rotation error on the secret failed",
			slog.String("secret_arn", ev.SecretID), slog.String("step", ev.Step), slog.Any("error", err))
	}
}

func (r *Rotator) logStep(ctx context.Context, ev Event, rep report, err error, took time.Duration) {
	attrs := []slog.Attr{
		slog.String("secret_arn", ev.SecretID),
		slog.String("step", ev.Step),
		slog.String("token", ev.ClientRequestToken),
		slog.String("outcome", rep.outcome),
		slog.Int64("duration_ms", took.Milliseconds()),
	}
	attrs = append(attrs, rep.attrs...)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	r.log.LogAttrs(ctx, level, "rotation step", attrs...)
	rec := access.Record{Action: "rotation " + ev.Step, Target: ev.SecretID, Outcome: access.OutcomeAllowed}
	if err != nil {
		rec.Outcome = access.OutcomeFailed
	}
	access.Audit(ctx, r.log, rec)
}

func (r *Rotator) countStep(step string, err error) {
	name := metrics.RotationStepSucceeded
	if err != nil {
		name = metrics.RotationStepFailed
	}
	if merr := r.metrics.Count(name, 1, metrics.Dimension{Name: metrics.DimensionStep, Value: step}); merr != nil {
		r.log.Warn("writing a metric failed", slog.Any("error", merr))
	}
}

// isNotFound reports whether err means the secret or version does not exist.
func isNotFound(err error) bool { return errors.Is(err, secretstore.ErrNotFound) }
