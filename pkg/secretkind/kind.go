package secretkind

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
)

// Kind is one kind of ddconn secret: how its document is stored and how
// the Datadog keys it holds are managed. Connection, AppKey and APIKey are
// the kinds; compare kinds with ==.
type Kind interface {
	// Segment is the kind's first name segment after the prefix ("keys",
	// "api-keys"); "" for a connection.
	Segment() string
	// Noun names the kind's keys in messages ("application key").
	Noun() string
	// Scoped reports whether the kind's keys carry scopes.
	Scoped() bool
	// KeyLimit is how many of the kind's keys one Manager's listing may
	// hold (Datadog's limit per owner, or per organisation for API keys).
	KeyLimit() int
	// Parse reads a stored secret value; the error never holds the value.
	Parse(value string) (Document, error)
	// Marshal is Parse's inverse.
	Marshal(d Document) (string, error)
	// Credentials are the credentials the document's key authenticates as.
	Credentials(d Document, m Manager) (datadog.Credentials, error)
	// ValidateKey checks that the document's key authenticates.
	ValidateKey(ctx context.Context, dd Datadog, d Document, m Manager) error
	// ListKeys lists the keys m manages for this kind.
	ListKeys(ctx context.Context, dd Datadog, m Manager) ([]Key, error)
	// CreateKey creates a key named name (scopes are ignored by unscoped
	// kinds); the returned Key holds its value.
	CreateKey(ctx context.Context, dd Datadog, m Manager, name string, scopes []string) (Key, error)
	// RevokeKey deletes key id; a key already gone counts as revoked.
	RevokeKey(ctx context.Context, dd Datadog, m Manager, id string) error
	// RenameKey renames key id; a key already gone counts as done.
	RenameKey(ctx context.Context, dd Datadog, m Manager, id, name string) error
}

// The kinds.
var (
	Connection Kind = connectionKind{}
	AppKey     Kind = appKeyKind{}
	APIKey     Kind = apiKeyKind{}
)

// Managed lists the kinds of managed keys.
var Managed = []Kind{AppKey, APIKey}

// managedKind returns the managed kind whose segment is seg.
func managedKind(seg string) (Kind, bool) {
	for _, k := range Managed {
		if k.Segment() == seg {
			return k, true
		}
	}
	return nil, false
}

// Manager is what manages a secret's keys: the credentials every call
// authenticates with and, for application keys, whose keys (the routes).
type Manager struct {
	Credentials datadog.Credentials
	Owner       datadog.KeyOwner
}

// Key is a Datadog key of any kind.
type Key struct {
	ID, Name string
	// OwnerID is an application key's owner; "" for an API key.
	OwnerID string
	// Scopes are an application key's scopes; nil means unscoped.
	Scopes    []string
	CreatedAt time.Time
	// LastUsedAt is when Datadog last saw the key used, from a listing;
	// nil if never.
	LastUsedAt *time.Time
	// Key is the secret itself, set only when the key is created.
	Key string
}

// Datadog is the part of the Datadog client the kinds call.
type Datadog interface {
	ValidateKeys(ctx context.Context, cr datadog.Credentials) error
	ValidateAPIKey(ctx context.Context, cr datadog.Credentials) error
	ListAppKeys(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner) ([]datadog.AppKey, error)
	CreateAppKey(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner, name string, scopes []string) (datadog.AppKey, error)
	DeleteAppKey(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner, id string) error
	RenameAppKey(ctx context.Context, cr datadog.Credentials, o datadog.KeyOwner, id, name string) error
	ListAPIKeys(ctx context.Context, cr datadog.Credentials) ([]datadog.APIKey, error)
	CreateAPIKey(ctx context.Context, cr datadog.Credentials, name string) (datadog.APIKey, error)
	DeleteAPIKey(ctx context.Context, cr datadog.Credentials, id string) error
	RenameAPIKey(ctx context.Context, cr datadog.Credentials, id, name string) error
}

var _ Datadog = (*datadog.Client)(nil)

// appKeys manages application keys, on the routes of the manager's owner:
// the connection's and managed application keys' key operations.
type appKeys struct{}

func (appKeys) Noun() string { return "application key" }
func (appKeys) Scoped() bool { return true }

// KeyLimit is Datadog's limit of application keys per owner. The value is
// the one Datadog reports as meta.max_allowed_per_user by default; an
// organisation may have another.
func (appKeys) KeyLimit() int { return 50 }

// Credentials pairs the application key with the document's API key, or
// with the manager's when the document carries none.
func (appKeys) Credentials(d Document, m Manager) (datadog.Credentials, error) {
	s, err := d.Site()
	if err != nil {
		return datadog.Credentials{}, err
	}
	return datadog.Credentials{Site: s, APIKey: cmp.Or(d.APIKey, m.Credentials.APIKey), AppKey: d.Key}, nil
}

func (k appKeys) ValidateKey(ctx context.Context, dd Datadog, d Document, m Manager) error {
	cr, err := k.Credentials(d, m)
	if err != nil {
		return err
	}
	return dd.ValidateKeys(ctx, cr)
}

func (appKeys) ListKeys(ctx context.Context, dd Datadog, m Manager) ([]Key, error) {
	keys, err := dd.ListAppKeys(ctx, m.Credentials, m.Owner)
	if err != nil {
		return nil, fmt.Errorf("listing application keys: %w", err)
	}
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = appKey(k)
	}
	return out, nil
}

func (appKeys) CreateKey(ctx context.Context, dd Datadog, m Manager, name string, scopes []string) (Key, error) {
	k, err := dd.CreateAppKey(ctx, m.Credentials, m.Owner, name, scopes)
	if err != nil {
		return Key{}, fmt.Errorf("creating application key %s: %w", name, err)
	}
	return appKey(k), nil
}

func (appKeys) RevokeKey(ctx context.Context, dd Datadog, m Manager, id string) error {
	if err := dd.DeleteAppKey(ctx, m.Credentials, m.Owner, id); err != nil {
		return fmt.Errorf("deleting application key %s: %w", id, err)
	}
	return nil
}

func (appKeys) RenameKey(ctx context.Context, dd Datadog, m Manager, id, name string) error {
	if err := dd.RenameAppKey(ctx, m.Credentials, m.Owner, id, name); err != nil {
		return fmt.Errorf("renaming application key %s: %w", id, err)
	}
	return nil
}

func appKey(k datadog.AppKey) Key {
	return Key{ID: k.ID, Name: k.Name, OwnerID: k.OwnerID, Scopes: k.Scopes, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, Key: k.Key}
}

// connectionKind is a connection's own secret.
type connectionKind struct{ appKeys }

func (connectionKind) Segment() string { return "" }

// connectionJSON is a connection's stored document.
type connectionJSON struct {
	URL            string `json:"url"`
	APIKey         string `json:"apiKey"`
	ApplicationKey string `json:"applicationKey"`
	// ApplicationKeyID is "" when the key could not be identified.
	ApplicationKeyID      string   `json:"applicationKeyId"`
	OwnerID               string   `json:"ownerId"`
	OwnerIsServiceAccount bool     `json:"ownerIsServiceAccount"`
	Scopes                []string `json:"scopes"`
}

func (connectionKind) Parse(value string) (Document, error) {
	var j connectionJSON
	if err := json.Unmarshal([]byte(value), &j); err != nil || j.URL == "" || j.APIKey == "" || j.ApplicationKey == "" {
		return Document{}, errNotDocument("connection")
	}
	return Document{URL: j.URL, KeyID: j.ApplicationKeyID, Key: j.ApplicationKey, APIKey: j.APIKey,
		OwnerID: j.OwnerID, OwnerIsServiceAccount: j.OwnerIsServiceAccount, Scopes: j.Scopes}, nil
}

func (connectionKind) Marshal(d Document) (string, error) {
	return marshal("connection", connectionJSON{URL: d.URL, APIKey: d.APIKey, ApplicationKey: d.Key,
		ApplicationKeyID: d.KeyID, OwnerID: d.OwnerID, OwnerIsServiceAccount: d.OwnerIsServiceAccount, Scopes: d.Scopes})
}

// appKeyKind is a managed application key of a service account.
type appKeyKind struct{ appKeys }

func (appKeyKind) Segment() string { return "keys" }

// appKeyJSON is a managed application key's stored document.
type appKeyJSON struct {
	URL              string `json:"url"`
	ApplicationKey   string `json:"applicationKey"`
	ApplicationKeyID string `json:"applicationKeyId"`
	ServiceAccountID string `json:"serviceAccountId"`
	// Scopes is null for an unscoped key.
	Scopes []string `json:"scopes"`
	// APIKey is a copy of the connection's API key, present only when the
	// key was minted with includeApiKey.
	APIKey string `json:"apiKey,omitempty"`
}

func (appKeyKind) Parse(value string) (Document, error) {
	var j appKeyJSON
	if err := json.Unmarshal([]byte(value), &j); err != nil ||
		j.URL == "" || j.ApplicationKey == "" || j.ApplicationKeyID == "" || j.ServiceAccountID == "" {
		return Document{}, errNotDocument("managed application key")
	}
	return Document{URL: j.URL, KeyID: j.ApplicationKeyID, Key: j.ApplicationKey, APIKey: j.APIKey,
		OwnerID: j.ServiceAccountID, OwnerIsServiceAccount: true, Scopes: j.Scopes}, nil
}

func (appKeyKind) Marshal(d Document) (string, error) {
	return marshal("managed application key", appKeyJSON{URL: d.URL, ApplicationKey: d.Key,
		ApplicationKeyID: d.KeyID, ServiceAccountID: d.OwnerID, Scopes: d.Scopes, APIKey: d.APIKey})
}

// apiKeyKind is a managed API key of the organisation, managed with its
// connection's keys.
type apiKeyKind struct{}

func (apiKeyKind) Segment() string { return "api-keys" }
func (apiKeyKind) Noun() string    { return "API key" }
func (apiKeyKind) Scoped() bool    { return false }

// KeyLimit is Datadog's documented limit of API keys per organisation.
func (apiKeyKind) KeyLimit() int { return 50 }

// apiKeyJSON is a managed API key's stored document.
type apiKeyJSON struct {
	URL      string `json:"url"`
	APIKey   string `json:"apiKey"`
	APIKeyID string `json:"apiKeyId"`
}

func (apiKeyKind) Parse(value string) (Document, error) {
	var j apiKeyJSON
	if err := json.Unmarshal([]byte(value), &j); err != nil || j.URL == "" || j.APIKey == "" || j.APIKeyID == "" {
		return Document{}, errNotDocument("managed API key")
	}
	return Document{URL: j.URL, KeyID: j.APIKeyID, Key: j.APIKey}, nil
}

func (apiKeyKind) Marshal(d Document) (string, error) {
	return marshal("managed API key", apiKeyJSON{URL: d.URL, APIKey: d.Key, APIKeyID: d.KeyID})
}

// Credentials are the API key alone: it authenticates without an
// application key.
func (apiKeyKind) Credentials(d Document, _ Manager) (datadog.Credentials, error) {
	s, err := d.Site()
	if err != nil {
		return datadog.Credentials{}, err
	}
	return datadog.Credentials{Site: s, APIKey: d.Key}, nil
}

func (k apiKeyKind) ValidateKey(ctx context.Context, dd Datadog, d Document, m Manager) error {
	cr, err := k.Credentials(d, m)
	if err != nil {
		return err
	}
	return dd.ValidateAPIKey(ctx, cr)
}

func (apiKeyKind) ListKeys(ctx context.Context, dd Datadog, m Manager) ([]Key, error) {
	keys, err := dd.ListAPIKeys(ctx, m.Credentials)
	if err != nil {
		return nil, fmt.Errorf("listing API keys: %w", err)
	}
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = Key{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, Key: k.Key}
	}
	return out, nil
}

func (apiKeyKind) CreateKey(ctx context.Context, dd Datadog, m Manager, name string, _ []string) (Key, error) {
	k, err := dd.CreateAPIKey(ctx, m.Credentials, name)
	if err != nil {
		return Key{}, fmt.Errorf("creating API key %s: %w", name, err)
	}
	return Key{ID: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, Key: k.Key}, nil
}

func (apiKeyKind) RevokeKey(ctx context.Context, dd Datadog, m Manager, id string) error {
	if err := dd.DeleteAPIKey(ctx, m.Credentials, id); err != nil {
		return fmt.Errorf("deleting API key %s: %w", id, err)
	}
	return nil
}

func (apiKeyKind) RenameKey(ctx context.Context, dd Datadog, m Manager, id, name string) error {
	if err := dd.RenameAPIKey(ctx, m.Credentials, id, name); err != nil {
		return fmt.Errorf("renaming API key %s: %w", id, err)
	}
	return nil
}

// ErrNotDocument is the error of Parse: the value is not a document of the
// kind. It never holds the value.
var ErrNotDocument = errors.New("the secret value is not a ddconn document of its kind")

func errNotDocument(what string) error {
	return fmt.Errorf("%w: not a %s document", ErrNotDocument, what)
}

func marshal(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding %s document: %w", what, err)
	}
	return string(b), nil
}

// ErrKeyLimit: the owner (or, for API keys, the organisation) already
// holds as many keys as Datadog allows, so no key can be created.
var ErrKeyLimit = errors.New("the Datadog key limit is reached")

// CheckHeadroom fails with ErrKeyLimit when keys, a Manager's listing of
// kind k, leave no room for one more key. Keys named exempt are not
// counted: they are about to be deleted.
func CheckHeadroom(k Kind, keys []Key, exempt string) error {
	n := 0
	for _, key := range keys {
		if key.Name != exempt {
			n++
		}
	}
	if n >= k.KeyLimit() {
		return fmt.Errorf("%w: %d of at most %d %ss are in use; revoke unused ones in Datadog", ErrKeyLimit, n, k.KeyLimit(), k.Noun())
	}
	return nil
}

// MintedKeys picks, from a Manager's listing, the keys ddconn minted for
// secret n - named after its rotations (Name.OwnsKey under scope), or
// recorded as retired (retired ids) - in the order to settle them: the
// current key last, as it is the credential that settles the others.
func MintedKeys(scope string, n Name, keys []Key, retired []string, current string) []Key {
	var minted []Key
	last := -1
	for _, k := range keys {
		if !n.OwnsKey(scope, k.Name) && !slices.Contains(retired, k.ID) {
			continue
		}
		if k.ID == current {
			last = len(minted)
		}
		minted = append(minted, k)
	}
	if last >= 0 {
		minted = append(append(minted[:last:last], minted[last+1:]...), minted[last])
	}
	return minted
}

// Settle ends ddconn's hold on keys, in order, when their secret goes:
// it revokes them, or, with release (a deletion with keepKeys), renames
// them to ReleasedKeyName so that they keep working and no sweep takes
// them for ddconn's again (a key ddconn did not name is left as it is). It
// returns the ids settled before any failure.
func Settle(ctx context.Context, dd Datadog, k Kind, m Manager, keys []Key, release bool) ([]string, error) {
	var done []string
	for _, key := range keys {
		var err error
		switch {
		case release && !namedByDdconn(key.Name):
			continue
		case release:
			err = k.RenameKey(ctx, dd, m, key.ID, ReleasedKeyName(key.Name))
		default:
			err = k.RevokeKey(ctx, dd, m, key.ID)
		}
		if err != nil {
			return done, err
		}
		done = append(done, key.ID)
	}
	return done, nil
}
