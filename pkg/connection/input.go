package connection

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/site"
)

// methodAPIKey is the only authentication method: an API key plus an
// application key.
const methodAPIKey = "api-key"

// Limits of user input.
const (
	maxNameLength        = 64
	maxDescriptionLength = 256
)

// LimitRule says which page sizes List accepts, for error messages.
var LimitRule = fmt.Sprintf("must be between 1 and %d", maxPageSize)

// CredentialsInput is the credentials part of a request, as the user sent it.
type CredentialsInput struct {
	// URL is the Datadog API URL or site, such as "us5.datadoghq.com".
	URL string
	// APIKey is the 32-hex-character API key.
	APIKey string
	// ApplicationKey is the 40-character application key.
	ApplicationKey string
}

// String keeps the keys out of fmt output.
func (c CredentialsInput) String() string { return "credentials (keys redacted)" }

// GoString keeps the keys out of %#v output.
func (c CredentialsInput) GoString() string { return c.String() }

// Format keeps every fmt verb from printing the keys.
func (c CredentialsInput) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// CreateInput is a create request.
type CreateInput struct {
	Name        string
	Description string
	// Team is the team the connection belongs to (package access); ""
	// for none, which only administrators may create.
	Team string
	// Method defaults to "api-key", the only method.
	Method string
	// Credentials is nil when the request had none.
	Credentials *CredentialsInput
	// RequestID, when set, makes Create idempotent in it: the secret's
	// ClientRequestToken is derived from it and the secret is tagged with
	// it (secretkind.TagRequestID), so a repeated Create with the same RequestID
	// returns the connection the first one created instead of ErrExists.
	// Event-driven requests set it to the event id.
	RequestID string
}

// UpdateInput is a PATCH request; nil fields are left unchanged.
type UpdateInput struct {
	// Name may only repeat the connection's name: names are immutable.
	Name        *string
	Description *string
	Credentials *CredentialsInput
	// Team, when set, moves the connection to that team (administrators
	// only).
	Team *string
	// AllowedServiceAccounts, when set, replaces the service accounts the
	// connection may mint managed keys for (ids, at most
	// maxAllowedServiceAccounts); an empty list removes the limit.
	AllowedServiceAccounts *[]string
}

// maxAllowedServiceAccounts bounds AllowedServiceAccounts. Up to six fit
// in one tag value; a longer list lives in the secret's settings version
// (secretkind.SettingsStage), where this many take about 10 KiB.
const maxAllowedServiceAccounts = 256

// The key and id formats are checked by hand rather than with package-level
// regular expressions, which every function would compile at cold start.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// all reports whether every byte of s satisfies ok.
func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// validAPIKey: 32 hex characters.
func validAPIKey(s string) bool { return len(s) == 32 && all(s, isHex) }

// validAppKey: 40 ASCII letters or digits.
func validAppKey(s string) bool { return len(s) == 40 && all(s, isAlnum) }

// validUUID: a lower-case UUID such as 00000000-0000-4000-8000-0000000000a1.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if c := s[i]; !isDigit(c) && !(c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// checkName validates a name taken from a URL path.
func checkName(name string) error {
	if !secretkind.ValidName(name) {
		return invalid(FieldError{"name", secretkind.NameRule})
	}
	return nil
}

// validCreate is a create request that passed validation.
type validCreate struct {
	name, description, requestID, team string
	creds                              datadog.Credentials
}

func (in CreateInput) validate() (validCreate, error) {
	var errs fieldErrors
	if !secretkind.ValidName(in.Name) {
		errs.add("name", secretkind.NameRule)
	}
	checkDescription(&errs, in.Description)
	checkTeam(&errs, in.Team)
	if in.Method != "" && in.Method != methodAPIKey {
		errs.add("method", `must be "api-key" (the only supported method)`)
	}
	creds := checkCredentials(&errs, in.Credentials)
	return validCreate{name: in.Name, description: in.Description, requestID: in.RequestID, team: in.Team, creds: creds}, errs.err()
}

// checkTeam checks a team name: empty (no team) or a valid name.
func checkTeam(errs *fieldErrors, team string) {
	if team != "" && !secretkind.ValidName(team) {
		errs.add("team", secretkind.NameRule)
	}
}

func checkDescription(errs *fieldErrors, d string) {
	switch {
	case !utf8.ValidString(d):
		errs.add("description", "must be valid UTF-8")
	case utf8.RuneCountInString(d) > maxDescriptionLength:
		errs.add("description", fmt.Sprintf("must be at most %d characters", maxDescriptionLength))
	case !plainText(d):
		errs.add("description", plainTextRule)
	}
}

// plainTextRule says what plainText refuses, for error messages.
const plainTextRule = "must not contain control characters (such as newlines or NUL) or bidirectional formatting characters"

// plainText reports whether s, valid UTF-8, is free of control characters
// (C0, DEL and C1) and of the Unicode bidirectional formatting characters,
// which make text display differently from what it holds. Names are
// narrower still (ValidName); descriptions must pass plainText.
func plainText(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return false
		}
	}
	return true
}

// isBidiControl reports whether r is one of Unicode's bidirectional
// formatting characters (UAX #9): marks, embeddings, overrides, isolates.
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// checkCredentials validates the credentials and returns them normalised
// (the URL turned into an allow-listed site). Messages never repeat a key.
func checkCredentials(errs *fieldErrors, c *CredentialsInput) datadog.Credentials {
	if c == nil {
		errs.add("credentials", "is required")
		return datadog.Credentials{}
	}
	var out datadog.Credentials
	if c.URL == "" {
		errs.add("credentials.url", "is required")
	} else if s, err := site.Parse(c.URL); err != nil {
		errs.add("credentials.url", urlMessage(err))
	} else {
		out.Site = s
	}
	out.APIKey = checkKey(errs, "credentials.apiKey", c.APIKey, validAPIKey, "must be 32 hexadecimal characters")
	out.AppKey = checkKey(errs, "credentials.applicationKey", c.ApplicationKey, validAppKey, "must be 40 letters or digits")
	return out
}

// checkKey returns the key trimmed, adding a field error when it is empty
// or fails valid (format says what valid wants, without the key).
func checkKey(errs *fieldErrors, field, key string, valid func(string) bool, format string) string {
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		errs.add(field, "is required")
	case !valid(key):
		errs.add(field, format)
	}
	return key
}

func urlMessage(err error) string {
	var se *site.Error
	if errors.As(err, &se) {
		return se.Error()
	}
	return "is not a Datadog API URL"
}

// validUpdate is a PATCH request that passed validation.
type validUpdate struct {
	description *string
	creds       *datadog.Credentials
	// allowed is the new allowed list, nil when unchanged; empty clears it.
	allowed *[]string
	// team is the new team, nil when unchanged; "" removes it.
	team *string
}

func (in UpdateInput) validate(name string) (validUpdate, error) {
	var errs fieldErrors
	if in.Name != nil && *in.Name != name {
		errs.add("name", "a connection cannot be renamed: its name is its id. Create a connection with the new name, then delete this one")
	}
	if in.Description == nil && in.Credentials == nil && in.AllowedServiceAccounts == nil && in.Team == nil {
		if err := errs.err(); err != nil {
			return validUpdate{}, err // a rename attempt says so, not "nothing to update"
		}
		return validUpdate{}, &Error{Kind: ErrInvalid, Message: "nothing to update: send description, credentials, team and/or allowedServiceAccounts"}
	}
	var out validUpdate
	if in.Description != nil {
		checkDescription(&errs, *in.Description)
		out.description = in.Description
	}
	if in.Credentials != nil {
		creds := checkCredentials(&errs, in.Credentials)
		out.creds = &creds
	}
	if in.AllowedServiceAccounts != nil {
		ids := checkAllowedServiceAccounts(&errs, *in.AllowedServiceAccounts)
		out.allowed = &ids
	}
	if in.Team != nil {
		checkTeam(&errs, *in.Team)
		out.team = in.Team
	}
	return out, errs.err()
}

// ServiceAccountIDRule says what ServiceAccountID accepts, for error
// messages.
const ServiceAccountIDRule = "must be a service account id (a UUID)"

// ServiceAccountID returns id in the one form ddconn compares and stores
// service account ids in: lower case, as Datadog writes them. ok is false
// when id is not a UUID.
func ServiceAccountID(id string) (canonical string, ok bool) {
	canonical = strings.ToLower(id)
	return canonical, validUUID(canonical)
}

// checkAllowedServiceAccounts checks a list of service account ids and
// returns it in ServiceAccountID's form without duplicates.
func checkAllowedServiceAccounts(errs *fieldErrors, ids []string) []string {
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		id, ok := ServiceAccountID(id)
		if !ok {
			errs.add(fmt.Sprintf("allowedServiceAccounts[%d]", i), ServiceAccountIDRule)
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxAllowedServiceAccounts {
		errs.add("allowedServiceAccounts", fmt.Sprintf("lists at most %d service accounts", maxAllowedServiceAccounts))
	}
	return out
}

// ScrubDetails returns details with every key-shaped string replaced
// (logging.Scrub), for answers and events: a detail may quote Datadog, and
// Datadog may quote the request.
func ScrubDetails(details []FieldError) []FieldError {
	if len(details) == 0 {
		return details
	}
	out := make([]FieldError, len(details))
	for i, d := range details {
		out[i] = FieldError{Field: logging.Scrub(d.Field), Message: logging.Scrub(d.Message)}
	}
	return out
}
