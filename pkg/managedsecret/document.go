package managedsecret

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// AppKeyDocument is the SecretString of a managed application key's secret.
// Formatting it with fmt or slog never prints the keys.
type AppKeyDocument struct {
	// URL is the connection's API URL, such as "https://api.us5.datadoghq.com".
	URL              string `json:"url"`
	ApplicationKey   string `json:"applicationKey"`
	ApplicationKeyID string `json:"applicationKeyId"`
	ServiceAccountID string `json:"serviceAccountId"`
	// Scopes are the key's scopes; nil means unscoped (allowUnscoped).
	Scopes []string `json:"scopes"`
	// APIKey is a copy of the connection's API key, present only when the
	// key was minted with includeApiKey; each rotation refreshes it.
	APIKey string `json:"apiKey,omitempty"`
}

// String describes the document without its keys.
func (d AppKeyDocument) String() string {
	return fmt.Sprintf("managed application key document for %s (service account %s, application key id %q; keys redacted)",
		d.URL, d.ServiceAccountID, d.ApplicationKeyID)
}

// GoString keeps %#v from printing the keys.
func (d AppKeyDocument) GoString() string { return d.String() }

// Format keeps every fmt verb from printing the keys.
func (d AppKeyDocument) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, d.String()) }

// LogValue keeps slog from printing the keys.
func (d AppKeyDocument) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", d.URL),
		slog.String("service_account_id", d.ServiceAccountID),
		slog.String("application_key_id", d.ApplicationKeyID),
	)
}

// errBadDocument never includes the value it failed to parse.
var errBadDocument = errors.New("the secret value is not a ddconn managed application key document")

// ParseAppKeyDocument decodes a SecretString. Its errors never quote the value.
func ParseAppKeyDocument(secretString string) (AppKeyDocument, error) {
	var d AppKeyDocument
	if err := json.Unmarshal([]byte(secretString), &d); err != nil {
		return AppKeyDocument{}, errBadDocument
	}
	if d.URL == "" || d.ApplicationKey == "" || d.ApplicationKeyID == "" || d.ServiceAccountID == "" {
		return AppKeyDocument{}, errBadDocument
	}
	return d, nil
}

// Marshal encodes the document as a SecretString.
func (d AppKeyDocument) Marshal() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding managed application key document: %w", err)
	}
	return string(b), nil
}

// APIKeyDocument is the SecretString of a managed API key's secret.
// Formatting it with fmt or slog never prints the key.
type APIKeyDocument struct {
	// URL is the connection's API URL.
	URL      string `json:"url"`
	APIKey   string `json:"apiKey"`
	APIKeyID string `json:"apiKeyId"`
}

// String describes the document without its key.
func (d APIKeyDocument) String() string {
	return fmt.Sprintf("managed API key document for %s (API key id %q; key redacted)", d.URL, d.APIKeyID)
}

// GoString keeps %#v from printing the key.
func (d APIKeyDocument) GoString() string { return d.String() }

// Format keeps every fmt verb from printing the key.
func (d APIKeyDocument) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, d.String()) }

// LogValue keeps slog from printing the key.
func (d APIKeyDocument) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", d.URL), slog.String("api_key_id", d.APIKeyID))
}

var errBadAPIKeyDocument = errors.New("the secret value is not a ddconn managed API key document")

// ParseAPIKeyDocument decodes a SecretString. Its errors never quote the value.
func ParseAPIKeyDocument(secretString string) (APIKeyDocument, error) {
	var d APIKeyDocument
	if err := json.Unmarshal([]byte(secretString), &d); err != nil {
		return APIKeyDocument{}, errBadAPIKeyDocument
	}
	if d.URL == "" || d.APIKey == "" || d.APIKeyID == "" {
		return APIKeyDocument{}, errBadAPIKeyDocument
	}
	return d, nil
}

// Marshal encodes the document as a SecretString.
func (d APIKeyDocument) Marshal() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding managed API key document: %w", err)
	}
	return string(b), nil
}
