package datadog

import (
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/site"
)

// Credentials are the keys of one Datadog connection and the site they
// belong to. Formatting them with fmt or slog never prints the keys.
type Credentials struct {
	// Site is the allow-listed Datadog site the keys belong to.
	Site site.Site
	// APIKey is the organisation's API key (32 hex characters).
	APIKey string
	// AppKey is the application key (40 characters).
	AppKey string
}

// String describes the credentials without their keys.
func (c Credentials) String() string {
	return fmt.Sprintf("datadog credentials for %s (keys redacted)", siteName(c.Site))
}

// GoString keeps %#v from printing the keys.
func (c Credentials) GoString() string { return c.String() }

// Format keeps every fmt verb (%v, %+v, %s, %q, …) from printing the keys.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// LogValue keeps slog from printing the keys.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("site", siteName(c.Site)),
		slog.String("keys", "[redacted]"),
	)
}

func siteName(s site.Site) string {
	if s.Name == "" {
		return "no site"
	}
	return s.Name
}
