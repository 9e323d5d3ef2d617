package managedkey

import (
	"time"

	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// record is a managed key of either kind as read from Secrets Manager: its
// name, its secret's metadata and, when read, its current document.
// Listings read metadata only.
type record struct {
	name    secretkind.Name
	secret  secretstore.Secret
	doc     *secretkind.Document
	readers []string
}

// keyID is the id of the managed key's current Datadog key.
func (r record) keyID() string {
	if r.doc != nil {
		return r.doc.KeyID
	}
	return r.secret.Tags[secretkind.TagKeyID]
}

// AppKey is a managed application key as the API shows it: never the key.
type AppKey struct {
	Connection       string `json:"connection"`
	Name             string `json:"name"`
	ServiceAccountID string `json:"serviceAccountId"`
	// Scopes are the key's scopes; nil (null) for an unscoped key, and
	// absent from listings, which read metadata only.
	Scopes           []string  `json:"scopes,omitempty"`
	ApplicationKeyID string    `json:"applicationKeyId"`
	IncludeAPIKey    bool      `json:"includeApiKey"`
	SecretARN        string    `json:"secretArn"`
	SecretName       string    `json:"secretName"`
	CreatedAt        time.Time `json:"createdAt"`
	// Readers are the principals (IAM role or user ARNs, or account ids)
	// that may read the secret, from its resource policy; [] for none.
	Readers  []string            `json:"readers"`
	Rotation rotationstate.State `json:"rotation"`
}

func appKeyFrom(r record) AppKey {
	k := AppKey{
		Connection: r.name.Connection, Name: r.name.Key,
		ServiceAccountID: r.secret.Tags[secretkind.TagServiceAccountID],
		ApplicationKeyID: r.keyID(),
		IncludeAPIKey:    r.secret.Tags[secretkind.TagIncludeAPIKey] == "true",
		SecretARN:        r.secret.ARN, SecretName: r.secret.Name, CreatedAt: r.secret.CreatedAt,
		Rotation: rotationstate.StateOf(r.secret), Readers: readersOut(r.readers),
	}
	if r.doc != nil {
		k.ServiceAccountID = r.doc.OwnerID
		k.Scopes = r.doc.Scopes
		k.IncludeAPIKey = r.doc.APIKey != ""
	}
	return k
}

// APIKey is a managed API key as the API shows it: never the key.
type APIKey struct {
	Connection string    `json:"connection"`
	Name       string    `json:"name"`
	APIKeyID   string    `json:"apiKeyId"`
	SecretARN  string    `json:"secretArn"`
	SecretName string    `json:"secretName"`
	CreatedAt  time.Time `json:"createdAt"`
	// Format is how the secret's value is stored: "json" or "plain" (the
	// key alone).
	Format string `json:"format"`
	// Readers are AppKey.Readers.
	Readers  []string            `json:"readers"`
	Rotation rotationstate.State `json:"rotation"`
}

func apiKeyFrom(r record) APIKey {
	format := secretkind.FormatJSON
	if secretkind.Plain(r.secret.Tags) {
		format = secretkind.FormatPlain
	}
	return APIKey{Connection: r.name.Connection, Name: r.name.Key, APIKeyID: r.keyID(),
		SecretARN: r.secret.ARN, SecretName: r.secret.Name, CreatedAt: r.secret.CreatedAt,
		Format: format, Readers: readersOut(r.readers), Rotation: rotationstate.StateOf(r.secret)}
}

// readersOut shows no readers as [] rather than null.
func readersOut(readers []string) []string {
	if readers == nil {
		return []string{}
	}
	return readers
}
