package secretkind

import (
	"errors"
	"strings"
)

// The formats of a managed API key's secret value (TagFormat).
const (
	// FormatJSON, the default, stores the Document as the kind's JSON.
	FormatJSON = "json"
	// FormatPlain stores exactly the API key, as tools that read a whole
	// secret string as the key expect (the Datadog Lambda extension's and
	// the Forwarder's DD_API_KEY_SECRET_ARN, the Agent's secret backend).
	// The URL is kept in TagURL and each version's key id in a tag of its
	// own (KeyOfTag), so every version still reads as a full Document.
	FormatPlain = "plain"
)

// Plain reports whether a secret with these tags stores its versions in
// FormatPlain.
func Plain(tags map[string]string) bool { return tags[TagFormat] == FormatPlain }

// KeyOfTag is the tag that records, for a FormatPlain secret, the id of
// the key version versionID holds.
func KeyOfTag(versionID string) string { return TagKeyOfPrefix + versionID }

// ParseVersion reads version versionID of a secret of kind k with the
// given tags: the kind's JSON (Kind.Parse), or, for a FormatPlain API key,
// the key itself with its URL and key id from the tags. A plain version
// with no key-id tag (the copy of the current value Secrets Manager makes
// to test a rotation function) reads with KeyID "".
func ParseVersion(k Kind, value, versionID string, tags map[string]string) (Document, error) {
	if k != APIKey || !Plain(tags) {
		return k.Parse(value)
	}
	if value == "" || strings.ContainsAny(value, " \t\r\n{}\"") || tags[TagURL] == "" {
		return Document{}, errNotDocument("plain managed API key")
	}
	return Document{URL: tags[TagURL], KeyID: tags[KeyOfTag(versionID)], Key: value}, nil
}

// MarshalVersion is ParseVersion's inverse for a new version: its value,
// and the tags to write before storing it (for FormatPlain, the version's
// key id: written first, it is never missing once the value exists).
func MarshalVersion(k Kind, d Document, versionID string, tags map[string]string) (string, map[string]string, error) {
	if k != APIKey || !Plain(tags) {
		v, err := k.Marshal(d)
		return v, nil, err
	}
	if d.Key == "" || d.KeyID == "" {
		return "", nil, errors.New("secretkind: a plain managed API key needs its key and key id")
	}
	return d.Key, map[string]string{KeyOfTag(versionID): d.KeyID}, nil
}
