package managedkey

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// secretStore is what the Service needs from Secrets Manager;
// *secretstore.Store implements it.
type secretStore interface {
	Describe(ctx context.Context, id string) (secretstore.Secret, error)
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	Create(ctx context.Context, in secretstore.CreateInput) (secretstore.Secret, error)
	Put(ctx context.Context, id, token, value string, stages []string, rotationToken string) (string, error)
	List(ctx context.Context, namePrefix string, limit int, cursor string) ([]secretstore.Secret, string, error)
	Rotate(ctx context.Context, id string, in secretstore.RotateInput) (string, error)
	Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error)
	Tag(ctx context.Context, id string, tags map[string]string) error
	Untag(ctx context.Context, id string, keys []string) error
	PutPolicy(ctx context.Context, id, policy string) error
	Policy(ctx context.Context, id string) (string, error)
	DeletePolicy(ctx context.Context, id string) error
}

// datadogAPI is what the Service needs from Datadog; *datadog.Client
// implements it.
type datadogAPI interface {
	secretkind.Datadog
	ListServiceAccounts(ctx context.Context, cr datadog.Credentials) ([]datadog.User, error)
}

var (
	_ secretStore = (*secretstore.Store)(nil)
	_ datadogAPI  = (*datadog.Client)(nil)
)

// Options configures a Service.
type Options struct {
	// Prefix starts the name of every connection secret.
	Prefix string
	// KMSKeyID encrypts new secrets; "" is Secrets Manager's default key.
	// Readers' grants are made on it, so it must be a key id or key ARN
	// (not an alias) for managed keys to have readers.
	KMSKeyID string
	// Grants manages the readers' KMS grants; nil refuses readers.
	Grants KeyGrants
	// RotationFunctionARN is the rotate function; "" leaves minted keys
	// without rotation (dev setups without the function).
	RotationFunctionARN string
	// Logger receives one record per mint and delete; nil discards.
	Logger *slog.Logger
	// Token returns a fresh ClientRequestToken; nil means a random UUID.
	Token func() string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MinAge is how old a key left by an abandoned mint must be before a
	// new mint of the same name deletes it; 0 means DefaultMinAge.
	MinAge time.Duration
}

// DefaultMinAge outlasts any mint between creating its key and storing it,
// so a mint never deletes the key of a concurrent mint still in flight (the
// sweeper's minimum age, for the same reason).
const DefaultMinAge = 10 * time.Minute

// Service mints, reads and deletes managed application keys. It is safe
// for concurrent use.
type Service struct {
	store secretStore
	dd    datadogAPI
	opts  Options
	log   *slog.Logger
	token func() string
	now   func() time.Time
}

// New returns a Service over the given adapters.
func New(store secretStore, dd datadogAPI, opts Options) *Service {
	s := &Service{store: store, dd: dd, opts: opts, log: opts.Logger, token: opts.Token, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.MinAge <= 0 {
		s.opts.MinAge = DefaultMinAge
	}
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if s.token == nil {
		s.token = randomUUID
	}
	return s
}

// randomUUID returns a version 4 UUID: a valid ClientRequestToken.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// managerOf is a connection as the manager of its managed keys.
type managerOf struct {
	secret secretstore.Secret
	cr     datadog.Credentials
	url    string
}

// manager is the connection's keys managing the keys of service account
// owner ("" for API keys, which have no owner).
func (m managerOf) manager(owner string) secretkind.Manager { return managerFor(m.cr, owner) }

// managerFor is the manager of service account owner's keys (or of API
// keys, with owner "") with the connection's credentials cr.
func managerFor(cr datadog.Credentials, owner string) secretkind.Manager {
	return secretkind.Manager{Credentials: cr, Owner: datadog.KeyOwner{ServiceAccountID: owner}}
}

// gone reports whether err says a secret is gone or going.
func gone(err error) bool {
	return errors.Is(err, secretstore.ErrNotFound) || errors.Is(err, secretstore.ErrPendingDeletion)
}

// visibleConnection describes live connection name, answering one the
// caller of ctx may not see (access.Sees) as not found, and notes its team
// for the audit record.
func (s *Service) visibleConnection(ctx context.Context, name string) (secretstore.Secret, error) {
	notFound := func(cause error) error {
		return fail(ErrConnectionNotFound, fmt.Sprintf("connection %q not found", name), cause)
	}
	if !secretkind.ValidName(name) {
		return secretstore.Secret{}, notFound(nil)
	}
	sec, err := s.store.Describe(ctx, s.opts.Prefix+name)
	switch {
	case gone(err) || err == nil && sec.DeletedAt != nil:
		return secretstore.Secret{}, notFound(err)
	case err != nil:
		return secretstore.Secret{}, storeFailure("reading the connection", err)
	case !access.Sees(ctx, sec.Tags[secretkind.TagTeam]):
		access.NoteHidden(ctx, sec.Tags[secretkind.TagTeam])
		return secretstore.Secret{}, notFound(nil)
	}
	access.NoteTeam(ctx, sec.Tags[secretkind.TagTeam])
	return sec, nil
}

// connection reads the connection's current keys.
func (s *Service) connection(ctx context.Context, name string) (managerOf, error) {
	sec, err := s.visibleConnection(ctx, name)
	if err != nil {
		return managerOf{}, err
	}
	// A delete may land between the two reads.
	v, err := s.store.Get(ctx, sec.ARN, "", secretstore.Current)
	switch {
	case gone(err):
		return managerOf{}, fail(ErrConnectionNotFound, fmt.Sprintf("connection %q not found", name), err)
	case err != nil:
		return managerOf{}, storeFailure("reading the connection", err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		return managerOf{}, fail(ErrUnavailable, "the connection's secret is not readable", err)
	}
	cr, err := secretkind.Connection.Credentials(doc, secretkind.Manager{})
	if err != nil {
		return managerOf{}, fail(ErrUnavailable, "the connection's secret is not readable", err)
	}
	return managerOf{secret: sec, cr: cr, url: doc.URL}, nil
}

func storeFailure(op string, err error) *Error {
	return fail(ErrUnavailable, op+" failed: Secrets Manager is unavailable", err)
}

// datadogFailure maps a failed Datadog call to an outcome.
func datadogFailure(op string, err error) *Error {
	if errors.Is(err, datadog.ErrUnauthorized) {
		return fail(ErrRejected, op+": Datadog rejected the connection's key (it needs service_account_write and user_access_read, or api_keys_read, api_keys_write and api_keys_delete)", err)
	}
	return fail(ErrUnavailable, op+": Datadog is unavailable", err)
}

// keyScope is the deployment scope of the keys of sec (secretkind.KeyScope).
func (s *Service) keyScope(sec secretstore.Secret) string {
	return secretkind.KeyScope(s.opts.Prefix, sec.ARN)
}
