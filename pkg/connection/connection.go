package connection

import (
	"strconv"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
)

// appDatadog is the app of every connection.
const appDatadog = "datadog"

// Connection is a connection as users see it. It never holds key material.
type Connection struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Team is the team the connection belongs to; "" (omitted) for none.
	Team   string `json:"team,omitempty"`
	App    string `json:"app"`
	Method string `json:"method"`
	// Site is the Datadog site's short name, such as "US5".
	Site        string            `json:"site"`
	Credentials PublicCredentials `json:"credentials"`
	SecretARN   string            `json:"secretArn"`
	// ApplicationKeyID is "" when the key could not be identified (see Warnings).
	ApplicationKeyID      string `json:"applicationKeyId"`
	OwnerID               string `json:"ownerId"`
	OwnerIsServiceAccount bool   `json:"ownerIsServiceAccount"`
	// Scopes points to the key's scopes (a nil slice, JSON null, means
	// unscoped). It is nil, and omitted, in listings, which do not read
	// secret values, and when the key could not be identified.
	Scopes       *[]string           `json:"scopes,omitempty"`
	Capabilities Capabilities        `json:"capabilities"`
	Rotation     rotationstate.State `json:"rotation"`
	// AllowedServiceAccounts are the service accounts managed keys may be
	// minted for; absent (nil) means any.
	AllowedServiceAccounts []string `json:"allowedServiceAccounts,omitempty"`
	// Valid and LastValidatedAt record the last validation, if any.
	Valid           *bool      `json:"valid,omitempty"`
	LastValidatedAt *time.Time `json:"lastValidatedAt,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	UpdatedAt       time.Time  `json:"updatedAt"`
	// Warnings explain limitations, such as an unidentified application key.
	Warnings []string `json:"warnings,omitempty"`
}

// PublicCredentials is the non-secret part of a connection's credentials.
type PublicCredentials struct {
	URL string `json:"url"`
}

// identityTags are the tags written from a probe; a key absent from a new
// set is removed from the secret, so stale values never linger.
var identityTags = []string{
	secretkind.TagSite, secretkind.TagOwnerID, secretkind.TagOwnerIsServiceAccount, secretkind.TagKeyID, secretkind.TagKeyLookup,
	secretkind.TagRotateOwnKey, secretkind.TagManageServiceAccountKeys, secretkind.TagMissingPermissions, secretkind.TagValid, secretkind.TagLastValidatedAt,
}

// metadataTags are the tags of a connection whose keys were just probed.
func metadataTags(s site.Site, p probe, v Validation) map[string]string {
	caps := capabilitiesOf(p.lookup, p.key.Scopes)
	tags := map[string]string{
		secretkind.TagManagedBy:                secretkind.ManagedBy,
		secretkind.TagSite:                     s.Name,
		secretkind.TagOwnerID:                  p.owner.ID,
		secretkind.TagOwnerIsServiceAccount:    strconv.FormatBool(p.owner.ServiceAccount),
		secretkind.TagKeyLookup:                string(p.lookup),
		secretkind.TagRotateOwnKey:             strconv.FormatBool(caps.RotateOwnKey),
		secretkind.TagManageServiceAccountKeys: strconv.FormatBool(caps.ManageServiceAccountKeys),
	}
	if p.lookup == lookupFound {
		tags[secretkind.TagKeyID] = p.key.ID
	}
	if len(caps.MissingPermissions) > 0 {
		tags[secretkind.TagMissingPermissions] = strings.Join(caps.MissingPermissions, " ")
	}
	for k, val := range validationTags(v) {
		tags[k] = val
	}
	return tags
}

func validationTags(v Validation) map[string]string {
	return map[string]string{
		secretkind.TagValid:           strconv.FormatBool(v.Valid),
		secretkind.TagLastValidatedAt: v.CheckedAt.UTC().Format(time.RFC3339),
	}
}

// staleTags lists the identity tags absent from tags.
func staleTags(tags map[string]string) []string {
	var out []string
	for _, k := range identityTags {
		if _, ok := tags[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// managed reports whether ddconn created the secret.
func managed(sec secretstore.Secret) bool {
	return sec.Tags[secretkind.TagManagedBy] == secretkind.ManagedBy
}

// connectionFrom builds the user-facing object from a secret's metadata and,
// when it was read, its document.
func (s *Service) connectionFrom(name string, sec secretstore.Secret, doc *secretkind.Document) Connection {
	t := sec.Tags
	c := Connection{
		Name:                  name,
		Description:           sec.Description,
		Team:                  t[secretkind.TagTeam],
		App:                   appDatadog,
		Method:                methodAPIKey,
		Site:                  t[secretkind.TagSite],
		SecretARN:             sec.ARN,
		ApplicationKeyID:      t[secretkind.TagKeyID],
		OwnerID:               t[secretkind.TagOwnerID],
		OwnerIsServiceAccount: t[secretkind.TagOwnerIsServiceAccount] == "true",
		Capabilities:          capabilitiesFromTags(t),
		Rotation:              rotationstate.StateOf(sec),
		CreatedAt:             sec.CreatedAt.UTC(),
		UpdatedAt:             sec.LastChangedAt.UTC(),
	}
	if s, ok := site.ByName(c.Site); ok {
		c.Credentials.URL = s.URL()
	}
	if doc != nil {
		c.Credentials.URL = doc.URL
	}
	if doc != nil && doc.KeyID != "" {
		scopes := doc.Scopes
		c.Scopes = &scopes
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if v, err := strconv.ParseBool(t[secretkind.TagValid]); err == nil {
		c.Valid = &v
	}
	if at, err := time.Parse(time.RFC3339, t[secretkind.TagLastValidatedAt]); err == nil {
		c.LastValidatedAt = &at
	}
	if w := lookupWarning(keyLookup(t[secretkind.TagKeyLookup])); w != "" {
		c.Warnings = []string{w}
	}
	if left, ok := t[secretkind.TagLowKeyHeadroom]; ok {
		c.Warnings = append(c.Warnings, "the key's owner has only "+left+" application keys left under Datadog's limit: "+
			"rotations and mints fail at the limit - revoke unused keys in Datadog")
	}
	return c
}

func capabilitiesFromTags(t map[string]string) Capabilities {
	c := Capabilities{
		RotateOwnKey:             t[secretkind.TagRotateOwnKey] == "true",
		ManageServiceAccountKeys: t[secretkind.TagManageServiceAccountKeys] == "true",
		MissingPermissions:       strings.Fields(t[secretkind.TagMissingPermissions]),
	}
	if c.MissingPermissions == nil {
		c.MissingPermissions = []string{}
	}
	return c
}
