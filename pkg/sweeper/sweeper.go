package sweeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// DefaultMinAge is how old an unreferenced key must be before the sweeper
// deletes it: longer than any createSecret takes between creating a key and
// storing it.
const DefaultMinAge = 10 * time.Minute

// pageSize is the number of secrets read per ListSecrets call.
const pageSize = 100

// secretStore is what the sweeper needs from Secrets Manager;
// *secretstore.Store implements it.
type secretStore interface {
	ListIncludingDeletedByName(ctx context.Context, namePrefix string, limit int, cursor string) ([]secretstore.Secret, string, error)
	Restore(ctx context.Context, id string) error
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	Describe(ctx context.Context, id string) (secretstore.Secret, error)
	Tag(ctx context.Context, id string, tags map[string]string) error
	Untag(ctx context.Context, id string, keys []string) error
	Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error)
}

// datadogAPI is what the sweeper lists and deletes keys with: every kind's
// key operations.
type datadogAPI = secretkind.Datadog

// reconciler reads snapshots of rotated secrets, tells who manages their
// keys, and carries out due retirements; *rotation.Rotator implements it.
type reconciler interface {
	Snapshot(ctx context.Context, secretID string) (rotation.Snapshot, error)
	Reconcile(ctx context.Context, snap rotation.Snapshot, seen ...rotation.Listing) (rotation.Reconciled, error)
	Manager(ctx context.Context, secretID string) (secretkind.Name, secretkind.Manager, error)
}

var (
	_ secretStore = (*secretstore.Store)(nil)
	_ reconciler  = (*rotation.Rotator)(nil)
)

// Options configures a Sweeper.
type Options struct {
	// Prefix starts the name of every connection secret.
	Prefix string
	// MinAge is the age below which an unreferenced key is left alone;
	// 0 means DefaultMinAge.
	MinAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one record per connection with work done, and a
	// summary; nil discards.
	Logger *slog.Logger
	// Metrics receives OrphansSwept; nil discards.
	Metrics *metrics.Writer
}

// Sweeper deletes orphaned keys and carries out due revocations. It is safe
// for concurrent use, and safe to run while rotations are in progress.
type Sweeper struct {
	secrets secretStore
	dd      datadogAPI
	rot     reconciler
	prefix  string
	minAge  time.Duration
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics.Writer
}

// New returns a Sweeper.
func New(secrets secretStore, dd datadogAPI, rot reconciler, opts Options) *Sweeper {
	s := &Sweeper{secrets: secrets, dd: dd, rot: rot, prefix: opts.Prefix, minAge: opts.MinAge,
		now: opts.Now, log: opts.Logger, metrics: opts.Metrics}
	if s.minAge <= 0 {
		s.minAge = DefaultMinAge
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return s
}

// Report is what one Run did.
type Report struct {
	// Connections is the number of connections examined.
	Connections int `json:"connections"`
	// Swept is the number of orphaned keys deleted.
	Swept int `json:"swept"`
	// Revoked is the number of retired keys revoked.
	Revoked int `json:"revoked"`
	// Failed is the number of connections whose sweep failed.
	Failed int `json:"failed"`
	// Listings is the number of key listings made: one per key owner.
	Listings int `json:"listings"`
	// Unread is the number of examined secrets that needed nothing, so
	// were not read (needsReading).
	Unread int `json:"unread"`
}

// pass is one Run's state: its report, the names of the secrets it listed,
// the strays its listings turned up, and the key listings it made, by
// listingID and by managerGroup.
type pass struct {
	rep      Report
	listed   map[string]bool
	strays   map[string]stray // by key id
	listings map[string]listing
	groups   map[string]listing
	// connections are the credentials of each connection's AWSCURRENT
	// key, read once per pass.
	connections map[string]datadog.Credentials
	errs        []error // of the secrets that failed
}

// stray is a key of this deployment (secretkind.ParseDatadogKeyName) seen
// in the listing of another secret's owner: a key of a secret that may be
// gone. The manager is the one the listing was made with, which can
// revoke it.
type stray struct {
	name secretkind.Name
	key  secretkind.Key
	kind secretkind.Kind
	m    secretkind.Manager
}

// Run sweeps every connection once, in one invocation. Its listings are
// shared across all its pages, so it lists each key owner's keys once
// wherever a page boundary falls, and needs no Skip or Take (Pages). A
// connection that fails is logged and counted, and the others are still
// swept; the error joins every failure.
func (s *Sweeper) Run(ctx context.Context) (Report, error) {
	start := s.now()
	p := newPass()
	var errs []error
	cursor := ""
	listedAll := false
	for {
		next, err := s.sweepPage(ctx, cursor, p)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if next == "" {
			listedAll = true
			break
		}
		cursor = next
	}
	if listedAll {
		errs = append(errs, s.revokeStrays(ctx, p))
	}
	return s.finish(ctx, "sweep finished", start, p, errs)
}

func newPass() *pass {
	return &pass{listed: map[string]bool{}, strays: map[string]stray{}, listings: map[string]listing{}, groups: map[string]listing{},
		connections: map[string]datadog.Credentials{}}
}

// sweepPage visits every secret of the page that starts at cursor and
// returns the next page's cursor ("" after the last). Only a failure to
// list is returned.
func (s *Sweeper) sweepPage(ctx context.Context, cursor string, p *pass) (string, error) {
	page, next, err := s.secrets.ListIncludingDeletedByName(ctx, s.prefix, pageSize, cursor)
	if err != nil {
		return "", fmt.Errorf("listing connection secrets: %w", err)
	}
	s.visitAll(ctx, page, p)
	return next, nil
}

// visitAll visits every listed secret: a failed secret is counted, and
// its error joined to p.errs.
func (s *Sweeper) visitAll(ctx context.Context, secs []secretstore.Secret, p *pass) {
	for _, sec := range secs {
		p.listed[sec.Name] = true
		if err := s.visit(ctx, sec, p); err != nil {
			p.rep.Failed++
			p.errs = append(p.errs, fmt.Errorf("sweeping %s: %w", sec.Name, err))
		}
	}
}

// finish publishes a run's metric and summary and returns its report and
// every failure.
func (s *Sweeper) finish(ctx context.Context, msg string, start time.Time, p *pass, errs []error) (Report, error) {
	rep := p.rep
	if err := s.metrics.Count(metrics.OrphansSwept, rep.Swept); err != nil {
		s.log.WarnContext(ctx, "writing a metric failed", slog.Any("error", err))
	}
	s.log.InfoContext(ctx, msg,
		slog.Int("connections", rep.Connections), slog.Int("swept", rep.Swept),
		slog.Int("revoked", rep.Revoked), slog.Int("failed", rep.Failed),
		slog.Int("listings", rep.Listings), slog.Int("unread", rep.Unread),
		slog.Int64("duration_ms", s.now().Sub(start).Milliseconds()))
	return rep, errors.Join(append(p.errs, errs...)...)
}

// visitKeys sweeps the keys of one rotated secret.
func (s *Sweeper) visitKeys(ctx context.Context, sec secretstore.Secret, p *pass) error {
	rep := &p.rep
	n, _ := secretkind.ParseName(s.prefix, sec.Name)
	conn := n.String()
	rep.Connections++
	swept, res, err := s.sweep(ctx, sec, p)
	rep.Swept += len(swept)
	rep.Revoked += len(res.Revoked)
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("secret_arn", sec.ARN), slog.String("connection", conn)}
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	} else if len(swept) == 0 && len(res.Revoked) == 0 && !res.ByHand {
		return nil
	}
	attrs = append(attrs, slog.Any("swept_key_ids", swept), slog.Any("revoked_key_ids", res.Revoked), slog.Bool("revoke_by_hand", res.ByHand))
	s.log.LogAttrs(ctx, level, "connection swept", attrs...)
	s.audit(ctx, "sweep keys", sec.ARN, err)
	return err
}

// sweep lists the owner's keys (or takes this Run's listing of them),
// then, if the secret may have work (needsReading), reads it, deletes the
// orphans and reconciles. The order is what makes it safe (see the package
// documentation).
func (s *Sweeper) sweep(ctx context.Context, sec secretstore.Secret, p *pass) ([]string, rotation.Reconciled, error) {
	secretID := sec.ARN
	n, l, err := s.keysOf(ctx, sec, p)
	if err != nil {
		return nil, rotation.Reconciled{}, err
	}
	s.markHeadroom(ctx, sec, n.Kind, len(l.keys))
	scope := secretkind.KeyScope(s.prefix, sec.ARN)
	if !s.needsReading(sec, n, scope, l.keys) {
		p.rep.Unread++
		return nil, rotation.Reconciled{}, nil
	}
	snap, err := s.rot.Snapshot(ctx, secretID)
	if err != nil {
		return nil, rotation.Reconciled{}, fmt.Errorf("reading the secret: %w", err)
	}
	swept, sweepErr := s.deleteOrphans(ctx, scope, n, l.m, l.keys, snap)
	res, err := s.rot.Reconcile(ctx, snap, rotation.Listing{Owner: l.m.Owner, Keys: l.keys})
	return swept, res, errors.Join(sweepErr, err)
}

func (s *Sweeper) deleteOrphans(ctx context.Context, scope string, n secretkind.Name, m secretkind.Manager, keys []secretkind.Key, snap rotation.Snapshot) ([]string, error) {
	now := s.now()
	var swept []string
	var errs []error
	for _, k := range keys {
		if !s.orphan(n.OwnsKey(scope, k.Name), k, snap, now) {
			continue
		}
		if err := n.Kind.RevokeKey(ctx, s.dd, m, k.ID); err != nil {
			errs = append(errs, fmt.Errorf("deleting orphaned key: %w", err))
			continue
		}
		swept = append(swept, k.ID)
	}
	return swept, errors.Join(errs...)
}

// orphan reports whether k is a key of the secret that nothing will ever
// use: a rotation's key (owned: named for the secret) that no labelled
// version refers to, old enough that no rotation is about to store it, and
// not retired (a retired key is Reconcile's, which honours its grace
// period). A key whose creation time is unknown is never an orphan.
func (s *Sweeper) orphan(owned bool, k secretkind.Key, snap rotation.Snapshot, now time.Time) bool {
	return owned && s.oldKey(k, now) &&
		!snap.Referenced(k.ID) &&
		!snap.Retiring(k.ID)
}

// audit writes the audit record of one sweeper action on target, with
// ddconn as the actor.
func (s *Sweeper) audit(ctx context.Context, action, target string, err error) {
	rec := access.Record{Action: "sweeper " + action, Target: target, Outcome: access.OutcomeAllowed}
	if err != nil {
		rec.Outcome = access.OutcomeFailed
	}
	access.Audit(ctx, s.log, rec)
}

// oldKey reports whether k is at least MinAge old; a key whose creation
// time is unknown never is.
func (s *Sweeper) oldKey(k secretkind.Key, now time.Time) bool {
	return !k.CreatedAt.IsZero() && now.Sub(k.CreatedAt) >= s.minAge
}

// countHeadroom publishes KeyHeadroom: how many more keys the listing's
// owner (or organisation, for API keys) may hold before Datadog refuses
// to create one, and so before a rotation fails. Its minimum is the
// number to alarm on.
func (s *Sweeper) countHeadroom(ctx context.Context, k secretkind.Kind, held int) {
	if err := s.metrics.Count(metrics.KeyHeadroom, max(k.KeyLimit()-held, 0)); err != nil {
		s.log.WarnContext(ctx, "writing a metric failed", slog.Any("error", err))
	}
}

// markHeadroom sets TagLowKeyHeadroom on the secret while its owner has
// secretkind.LowKeyHeadroom or fewer keys left, and removes it once there
// is room again; it writes only when that changes. A failure is logged:
// the next sweep tries again.
func (s *Sweeper) markHeadroom(ctx context.Context, sec secretstore.Secret, k secretkind.Kind, held int) {
	left := max(k.KeyLimit()-held, 0)
	_, marked := sec.Tags[secretkind.TagLowKeyHeadroom]
	var err error
	switch low := left <= secretkind.LowKeyHeadroom; {
	case low && !marked:
		err = s.secrets.Tag(ctx, sec.ARN, map[string]string{secretkind.TagLowKeyHeadroom: fmt.Sprintf("%d of %d", left, k.KeyLimit())})
	case !low && marked:
		err = s.secrets.Untag(ctx, sec.ARN, []string{secretkind.TagLowKeyHeadroom})
	}
	if err != nil {
		s.log.WarnContext(ctx, "marking the key headroom failed", slog.String("secret_arn", sec.ARN), slog.Any("error", err))
	}
}
