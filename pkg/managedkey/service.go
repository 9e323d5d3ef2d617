package managedkey

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/managedsecret"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// TagAllowedServiceAccounts, on a connection's secret, lists the service
// account ids (space-separated: tag values allow no commas) the connection
// may mint managed keys for. Absent means any service account.
const TagAllowedServiceAccounts = "ddconn:allowed-service-accounts"

// Tags written on a managed key's secret, so listings need no value.
const (
	TagConnection       = "ddconn:connection"
	TagServiceAccountID = "ddconn:service-account-id"
	TagKind             = "ddconn:managed-key-kind"
)

// SecretStore is what the Service needs from Secrets Manager;
// *secretstore.Store implements it.
type SecretStore interface {
	Describe(ctx context.Context, id string) (secretstore.Secret, error)
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	Create(ctx context.Context, in secretstore.CreateInput) (secretstore.Secret, error)
	List(ctx context.Context, namePrefix string, limit int, cursor string) ([]secretstore.Secret, string, error)
	Rotate(ctx context.Context, id string, in secretstore.RotateInput) (string, error)
	Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error)
	Tag(ctx context.Context, id string, tags map[string]string) error
	Untag(ctx context.Context, id string, keys []string) error
}

// Datadog is what the Service needs from Datadog; *datadog.Client
// implements it.
type Datadog interface {
	ListServiceAccounts(ctx context.Context, cr datadog.Credentials) ([]datadog.User, error)
	ListAppKeys(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner) ([]datadog.AppKey, error)
	CreateAppKey(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner, name string, scopes []string) (datadog.AppKey, error)
	DeleteAppKey(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner, id string) error
	ListAPIKeys(ctx context.Context, cr datadog.Credentials) ([]datadog.APIKey, error)
	CreateAPIKey(ctx context.Context, cr datadog.Credentials, name string) (datadog.APIKey, error)
	DeleteAPIKey(ctx context.Context, cr datadog.Credentials, id string) error
}

var (
	_ SecretStore = (*secretstore.Store)(nil)
	_ Datadog     = (*datadog.Client)(nil)
)

// Options configures a Service.
type Options struct {
	// Prefix starts the name of every connection secret.
	Prefix string
	// KMSKeyID encrypts new secrets; "" is Secrets Manager's default key.
	KMSKeyID string
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
	store SecretStore
	dd    Datadog
	opts  Options
	log   *slog.Logger
	token func() string
	now   func() time.Time
}

// New returns a Service over the given adapters.
func New(store SecretStore, dd Datadog, opts Options) *Service {
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

// connection reads the connection's current keys.
func (s *Service) connection(ctx context.Context, name string) (managerOf, error) {
	if !connection.ValidName(name) {
		return managerOf{}, fail(ErrConnectionNotFound, fmt.Sprintf("connection %q not found", name), nil)
	}
	sec, err := s.store.Describe(ctx, s.opts.Prefix+name)
	switch {
	case errors.Is(err, secretstore.ErrNotFound) || err == nil && sec.DeletedAt != nil:
		return managerOf{}, fail(ErrConnectionNotFound, fmt.Sprintf("connection %q not found", name), err)
	case err != nil:
		return managerOf{}, storeFailure("reading the connection", err)
	}
	v, err := s.store.Get(ctx, sec.ARN, "", secretstore.Current)
	if err != nil {
		return managerOf{}, storeFailure("reading the connection", err)
	}
	doc, err := connection.ParseDocument(v.Value)
	if err != nil {
		return managerOf{}, fail(ErrUnavailable, "the connection's secret is not readable", err)
	}
	cr, err := doc.Credentials()
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

// abandoned reports whether a key named name, created at createdAt, is a
// key an earlier mint of n created and never stored: the caller has checked
// that n's secret does not exist. Keys younger than MinAge (or of unknown
// age) may belong to a concurrent mint and are kept.
func (s *Service) abandoned(n managedsecret.Name, name string, createdAt time.Time) bool {
	return strings.HasPrefix(name, n.DatadogKeyNamePrefix()) &&
		!createdAt.IsZero() && s.now().Sub(createdAt) >= s.opts.MinAge
}

// dropAbandonedAppKeys deletes the keys earlier, crashed mints of n left.
func (s *Service) dropAbandonedAppKeys(ctx context.Context, mgr managerOf, owner datadog.KeyOwner, n managedsecret.Name) error {
	keys, err := s.dd.ListAppKeys(ctx, mgr.cr, owner)
	if err != nil {
		return datadogFailure("listing the service account's keys", err)
	}
	for _, k := range keys {
		if !s.abandoned(n, k.Name, k.CreatedAt) {
			continue
		}
		if err := s.dd.DeleteAppKey(ctx, mgr.cr, owner, k.ID); err != nil {
			return datadogFailure(fmt.Sprintf("deleting application key %s left by an abandoned mint", k.ID), err)
		}
		s.log.InfoContext(ctx, "deleted a key an abandoned mint left", slog.String("application_key_id", k.ID))
	}
	return nil
}

// dropAbandonedAPIKeys is dropAbandonedAppKeys for API keys.
func (s *Service) dropAbandonedAPIKeys(ctx context.Context, mgr managerOf, n managedsecret.Name) error {
	keys, err := s.dd.ListAPIKeys(ctx, mgr.cr)
	if err != nil {
		return datadogFailure("listing API keys", err)
	}
	for _, k := range keys {
		if !s.abandoned(n, k.Name, k.CreatedAt) {
			continue
		}
		if err := s.dd.DeleteAPIKey(ctx, mgr.cr, k.ID); err != nil {
			return datadogFailure(fmt.Sprintf("deleting API key %s left by an abandoned mint", k.ID), err)
		}
		s.log.InfoContext(ctx, "deleted a key an abandoned mint left", slog.String("api_key_id", k.ID))
	}
	return nil
}
