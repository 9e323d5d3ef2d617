package connection

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// datadogAPI is what the Service needs from Datadog; *datadog.Client
// implements it.
// datadogAPI is what the Service calls at Datadog: every kind's key
// operations, plus reading who a key belongs to.
type datadogAPI interface {
	secretkind.Datadog
	CurrentUser(ctx context.Context, cr datadog.Credentials) (datadog.User, error)
	ListServiceAccounts(ctx context.Context, cr datadog.Credentials) ([]datadog.User, error)
}

// secretStore is what the Service needs from Secrets Manager;
// *secretstore.Store implements it.
type secretStore interface {
	secretReader
	secretWriter
	secretTagger
	secretDeleter
	secretRotator
}

type secretReader interface {
	Describe(ctx context.Context, id string) (secretstore.Secret, error)
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	List(ctx context.Context, namePrefix string, limit int, cursor string) ([]secretstore.Secret, string, error)
	ListTagged(ctx context.Context, namePrefix, key string, values []string, limit int, cursor string) ([]secretstore.Secret, string, error)
	WithTag(ctx context.Context, namePrefix, key, value string) ([]secretstore.Secret, error)
}

type secretWriter interface {
	Create(ctx context.Context, in secretstore.CreateInput) (secretstore.Secret, error)
	Put(ctx context.Context, id, token, value string, stages []string, rotationToken string) (string, error)
	SetDescription(ctx context.Context, id, description string) error
}

type secretTagger interface {
	Tag(ctx context.Context, id string, tags map[string]string) error
	Untag(ctx context.Context, id string, keys []string) error
}

type secretDeleter interface {
	Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error)
	Restore(ctx context.Context, id string) error
}

type secretRotator interface {
	Rotate(ctx context.Context, id string, in secretstore.RotateInput) (string, error)
	CancelRotation(ctx context.Context, id string) (string, error)
	MoveStage(ctx context.Context, id, stage, moveTo, removeFrom string) error
}

// Options configures a Service.
type Options struct {
	// Prefix is prepended to a connection's name to form its secret name.
	Prefix string
	// KMSKeyID encrypts new secrets; "" means Secrets Manager's default key.
	KMSKeyID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one record per change; nil discards.
	Logger *slog.Logger
	// RotationFunctionARN is the rotation Lambda given to RotateSecret; ""
	// means rotation is not configured (EnableRotation fails with
	// ErrRotationUnavailable).
	RotationFunctionARN string
	// Dependents, when set, makes Delete refuse a connection that still
	// has managed keys.
	Dependents Dependents
	// MinRotateInterval is the least time between the end of a rotation
	// and a rotate-now request; 0 means DefaultMinRotateInterval, a
	// negative value no minimum.
	MinRotateInterval time.Duration
}

// DefaultMinRotateInterval is Options.MinRotateInterval's default: long
// enough that consumers which cached the key a rotation replaced have
// reloaded it before another rotation may revoke it.
const DefaultMinRotateInterval = time.Minute

// Dependents counts what relies on a connection's key: its managed keys,
// which it revokes and rotates. *managedkey.Service implements it.
type Dependents interface {
	CountManagedKeys(ctx context.Context, conn string) (int, error)
}

// recoveryWindowDays is how long a deleted connection can be recovered
// (with Secrets Manager's RestoreSecret) before it is gone.
const recoveryWindowDays = 7

// Service creates, checks, reads, updates and deletes connections. It is
// safe for concurrent use.
type Service struct {
	store    secretStore
	dd       datadogAPI
	prefix   string
	kmsKeyID string
	now      func() time.Time
	log      *slog.Logger

	rotationFunctionARN string
	minRotateInterval   time.Duration
	dependents          Dependents
}

// New returns a Service over the given adapters.
func New(store secretStore, dd datadogAPI, opts Options) *Service {
	s := &Service{store: store, dd: dd, prefix: opts.Prefix, kmsKeyID: opts.KMSKeyID, now: opts.Now, log: opts.Logger,
		rotationFunctionARN: opts.RotationFunctionARN, dependents: opts.Dependents}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case opts.MinRotateInterval == 0:
		s.minRotateInterval = DefaultMinRotateInterval
	case opts.MinRotateInterval > 0:
		s.minRotateInterval = opts.MinRotateInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return s
}

// secretName is the Secrets Manager name of connection name.
func (s *Service) secretName(name string) string { return s.prefix + name }
