package connection

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/site"
)

// Document is the SecretString of a connection secret. Formatting it with
// fmt or slog never prints the keys.
type Document struct {
	// URL is the normalised API URL, such as "https://api.us5.datadoghq.com".
	URL            string `json:"url"`
	APIKey         string `json:"apiKey"`
	ApplicationKey string `json:"applicationKey"`
	// ApplicationKeyID is the key's id in Datadog, "" when it could not be
	// determined unambiguously.
	ApplicationKeyID      string `json:"applicationKeyId"`
	OwnerID               string `json:"ownerId"`
	OwnerIsServiceAccount bool   `json:"ownerIsServiceAccount"`
	// Scopes of the application key; nil means unscoped (or, when
	// ApplicationKeyID is "", unknown).
	Scopes []string `json:"scopes"`
}

// String describes the document without its keys.
func (d Document) String() string {
	return fmt.Sprintf("connection document for %s (owner %s, application key id %q; keys redacted)", d.URL, d.OwnerID, d.ApplicationKeyID)
}

// GoString keeps %#v from printing the keys.
func (d Document) GoString() string { return d.String() }

// Format keeps every fmt verb from printing the keys.
func (d Document) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, d.String()) }

// LogValue keeps slog from printing the keys.
func (d Document) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", d.URL),
		slog.String("owner_id", d.OwnerID),
		slog.String("application_key_id", d.ApplicationKeyID),
	)
}

// errBadDocument never includes the value it failed to parse.
var errBadDocument = errors.New("the secret value is not a ddconn connection document")

// ParseDocument decodes a SecretString. Its errors never quote the value.
func ParseDocument(secretString string) (Document, error) {
	var d Document
	if err := json.Unmarshal([]byte(secretString), &d); err != nil {
		return Document{}, errBadDocument
	}
	if d.URL == "" || d.APIKey == "" || d.ApplicationKey == "" {
		return Document{}, errBadDocument
	}
	return d, nil
}

// Marshal encodes the document as a SecretString.
func (d Document) Marshal() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding connection document: %w", err)
	}
	return string(b), nil
}

// Credentials returns the document's keys for Datadog calls.
func (d Document) Credentials() (datadog.Credentials, error) {
	s, err := site.Parse(d.URL)
	if err != nil {
		return datadog.Credentials{}, fmt.Errorf("stored url: %w", err)
	}
	return datadog.Credentials{Site: s, APIKey: d.APIKey, AppKey: d.ApplicationKey}, nil
}
