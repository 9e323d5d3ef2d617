package secretkind

import (
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/site"
)

// Document is a stored secret value as every ddconn operation sees it,
// whatever the kind: the key the secret rotates, and what that key is used
// and managed with. Each kind reads and writes its own JSON form (Kind.Parse,
// Kind.Marshal); formatting a Document never prints a key.
type Document struct {
	// URL is the Datadog API URL of the connection.
	URL string
	// KeyID and Key are the id and value of the key the secret rotates: an
	// application key, or a managed API key. KeyID is "" when the id of a
	// connection's key was never identified.
	KeyID string
	Key   string
	// APIKey is the API key sent alongside an application key: the
	// connection's own, or a managed application key's copy of it ("" when
	// the key was minted without one). "" for a managed API key.
	APIKey string
	// OwnerID is the user or service account owning an application key.
	OwnerID               string
	OwnerIsServiceAccount bool
	// Scopes are an application key's scopes; nil means unscoped, or unknown
	// for a connection key that was never identified.
	Scopes []string
}

// Site returns the allow-listed site of the document's URL.
func (d Document) Site() (site.Site, error) {
	s, err := site.Parse(d.URL)
	if err != nil {
		return site.Site{}, fmt.Errorf("stored url: %w", err)
	}
	return s, nil
}

// String describes the document without its keys.
func (d Document) String() string {
	return fmt.Sprintf("ddconn document for %s (owner %q, key id %q; keys redacted)", d.URL, d.OwnerID, d.KeyID)
}

// GoString is String, so %#v never prints a key.
func (d Document) GoString() string { return d.String() }

// Format prints String for every verb, so %v, %+v and %q never print a key.
func (d Document) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, d.String()) }

// LogValue logs the document without its keys.
func (d Document) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", d.URL),
		slog.String("owner_id", d.OwnerID),
		slog.String("key_id", d.KeyID),
	)
}
