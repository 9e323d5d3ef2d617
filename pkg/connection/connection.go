package connection

import (
	"strconv"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
)

// AppDatadog is the app of every connection.
const AppDatadog = "datadog"

// Connection is a connection as users see it. It never holds key material.
type Connection struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	App         string `json:"app"`
	Method      string `json:"method"`
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
	Scopes       *[]string    `json:"scopes,omitempty"`
	Capabilities Capabilities `json:"capabilities"`
	Rotation     Rotation     `json:"rotation"`
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

// Tags on a connection secret. Values follow AWS's tag alphabet (letters,
// digits, spaces and _.:/=+-@), so lists are space-separated.
const (
	TagManagedBy                = "ddconn:managed-by"
	TagSite                     = "ddconn:site"
	TagOwnerID                  = "ddconn:owner-id"
	TagOwnerIsServiceAccount    = "ddconn:owner-is-service-account"
	TagApplicationKeyID         = "ddconn:application-key-id"
	TagKeyLookup                = "ddconn:key-lookup"
	TagRotateOwnKey             = "ddconn:rotate-own-key"
	TagManageServiceAccountKeys = "ddconn:manage-service-account-keys"
	TagMissingPermissions       = "ddconn:missing-permissions"
	TagValid                    = "ddconn:valid"
	TagLastValidatedAt          = "ddconn:last-validated-at"
	// TagAllowedServiceAccounts lists, space-separated, the service accounts
	// managed keys may be minted for; the same tag as
	// managedkey.TagAllowedServiceAccounts (which imports this package, so
	// the value is repeated; a test in pkg/httpapi pins them together).
	TagAllowedServiceAccounts = "ddconn:allowed-service-accounts"
	// TagRequestID is the id of the request (an EventBridge event id) that
	// created the secret, on secrets created with a request id: a repeated
	// request finds its own work by it.
	TagRequestID = "ddconn:request-id"

	// ManagedBy is the value of TagManagedBy.
	ManagedBy = "ddconn"
)

// identityTags are the tags written from a probe; a key absent from a new
// set is removed from the secret, so stale values never linger.
var identityTags = []string{
	TagSite, TagOwnerID, TagOwnerIsServiceAccount, TagApplicationKeyID, TagKeyLookup,
	TagRotateOwnKey, TagManageServiceAccountKeys, TagMissingPermissions, TagValid, TagLastValidatedAt,
}

// metadataTags are the tags of a connection whose keys were just probed.
func metadataTags(s site.Site, p probe, v Validation) map[string]string {
	caps := capabilitiesOf(p.lookup, p.key.Scopes)
	tags := map[string]string{
		TagManagedBy:                ManagedBy,
		TagSite:                     s.Name,
		TagOwnerID:                  p.owner.ID,
		TagOwnerIsServiceAccount:    strconv.FormatBool(p.owner.ServiceAccount),
		TagKeyLookup:                string(p.lookup),
		TagRotateOwnKey:             strconv.FormatBool(caps.RotateOwnKey),
		TagManageServiceAccountKeys: strconv.FormatBool(caps.ManageServiceAccountKeys),
	}
	if p.lookup == lookupFound {
		tags[TagApplicationKeyID] = p.key.ID
	}
	if len(caps.MissingPermissions) > 0 {
		tags[TagMissingPermissions] = strings.Join(caps.MissingPermissions, " ")
	}
	for k, val := range validationTags(v) {
		tags[k] = val
	}
	return tags
}

func validationTags(v Validation) map[string]string {
	return map[string]string{
		TagValid:           strconv.FormatBool(v.Valid),
		TagLastValidatedAt: v.CheckedAt.UTC().Format(time.RFC3339),
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
func managed(sec secretstore.Secret) bool { return sec.Tags[TagManagedBy] == ManagedBy }

// connectionFrom builds the user-facing object from a secret's metadata and,
// when it was read, its document.
func (s *Service) connectionFrom(name string, sec secretstore.Secret, doc *Document) Connection {
	t := sec.Tags
	c := Connection{
		Name:                  name,
		Description:           sec.Description,
		App:                   AppDatadog,
		Method:                MethodAPIKey,
		Site:                  t[TagSite],
		SecretARN:             sec.ARN,
		ApplicationKeyID:      t[TagApplicationKeyID],
		OwnerID:               t[TagOwnerID],
		OwnerIsServiceAccount: t[TagOwnerIsServiceAccount] == "true",
		Capabilities:          capabilitiesFromTags(t),
		Rotation:              s.rotationOf(sec),
		CreatedAt:             sec.CreatedAt.UTC(),
		UpdatedAt:             sec.LastChangedAt.UTC(),
	}
	if s, ok := site.ByName(c.Site); ok {
		c.Credentials.URL = s.URL()
	}
	if doc != nil {
		c.Credentials.URL = doc.URL
	}
	if doc != nil && doc.ApplicationKeyID != "" {
		scopes := doc.Scopes
		c.Scopes = &scopes
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if v, err := strconv.ParseBool(t[TagValid]); err == nil {
		c.Valid = &v
	}
	if at, err := time.Parse(time.RFC3339, t[TagLastValidatedAt]); err == nil {
		c.LastValidatedAt = &at
	}
	if allowed, ok := t[TagAllowedServiceAccounts]; ok {
		c.AllowedServiceAccounts = strings.Fields(allowed)
	}
	if w := lookupWarning(keyLookup(t[TagKeyLookup])); w != "" {
		c.Warnings = []string{w}
	}
	return c
}

func capabilitiesFromTags(t map[string]string) Capabilities {
	c := Capabilities{
		RotateOwnKey:             t[TagRotateOwnKey] == "true",
		ManageServiceAccountKeys: t[TagManageServiceAccountKeys] == "true",
		MissingPermissions:       strings.Fields(t[TagMissingPermissions]),
	}
	if c.MissingPermissions == nil {
		c.MissingPermissions = []string{}
	}
	return c
}
