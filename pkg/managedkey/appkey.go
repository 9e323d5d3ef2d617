package managedkey

import (
	"time"

	"github.com/ddconn/ddconn/pkg/managedsecret"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// AppKey is a managed application key as the API shows it: never the key.
type AppKey struct {
	Connection       string `json:"connection"`
	Name             string `json:"name"`
	ServiceAccountID string `json:"serviceAccountId"`
	// Scopes are the key's scopes; nil (null) for an unscoped key, and
	// absent from listings, which read metadata only.
	Scopes           []string       `json:"scopes,omitempty"`
	ApplicationKeyID string         `json:"applicationKeyId"`
	IncludeAPIKey    bool           `json:"includeApiKey"`
	SecretARN        string         `json:"secretArn"`
	SecretName       string         `json:"secretName"`
	CreatedAt        time.Time      `json:"createdAt"`
	Rotation         rotation.State `json:"rotation"`
}

// appKeyFrom builds the API object from the secret's metadata and, when
// read, its current document.
func appKeyFrom(n managedsecret.Name, sec secretstore.Secret, doc *managedsecret.AppKeyDocument) AppKey {
	k := AppKey{
		Connection: n.Connection, Name: n.Key,
		ServiceAccountID: sec.Tags[TagServiceAccountID],
		ApplicationKeyID: sec.Tags[rotation.TagApplicationKeyID],
		IncludeAPIKey:    sec.Tags[tagIncludeAPIKey] == "true",
		SecretARN:        sec.ARN, SecretName: sec.Name, CreatedAt: sec.CreatedAt,
		Rotation: rotation.StateOf(sec),
	}
	if doc != nil {
		k.ServiceAccountID = doc.ServiceAccountID
		k.ApplicationKeyID = doc.ApplicationKeyID
		k.Scopes = doc.Scopes
		k.IncludeAPIKey = doc.APIKey != ""
	}
	return k
}

// tagIncludeAPIKey records includeApiKey for listings.
const tagIncludeAPIKey = "ddconn:include-api-key"
