package connection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
)

// Permissions behind each capability (Datadog role permissions, which are
// also application-key scope names).
const (
	permUserAppKeys         = "user_app_keys"
	permServiceAccountWrite = "service_account_write"
	permUserAccessRead      = "user_access_read"
)

// Names of the checks in a Validation, in order.
const (
	checkURL            = "url"
	checkAPIKey         = "apiKey"
	checkApplicationKey = "applicationKey"
	checkPermissions    = "permissions"
)

// Validation is the outcome of checking a pair of keys against Datadog.
type Validation struct {
	// Valid is true when every check passed.
	Valid     bool      `json:"valid"`
	Checks    []Check   `json:"checks"`
	CheckedAt time.Time `json:"checkedAt"`
}

// Check is one line of a Validation.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Message explains a failure (or, for the url check, the normalised URL).
	Message string `json:"message,omitempty"`
	// Missing lists missing permissions; only the permissions check has it.
	Missing []string `json:"-"`
}

// MarshalJSON writes "missing" on the permissions check only, as a list
// even when empty.
func (c Check) MarshalJSON() ([]byte, error) {
	type plain Check
	if c.Name != checkPermissions {
		return json.Marshal(plain(c))
	}
	return json.Marshal(struct {
		plain
		Missing []string `json:"missing"`
	}{plain(c), nonNil(c.Missing)})
}

// keyLookup says whether the application key was found among its owner's
// keys (matched on its last four characters).
type keyLookup string

const (
	lookupFound     keyLookup = "found"
	lookupNone      keyLookup = "none"
	lookupAmbiguous keyLookup = "ambiguous"
	lookupForbidden keyLookup = "forbidden"
)

// probe is everything the live checks learnt about a pair of keys.
type probe struct {
	apiKeyErr, keysErr, ownerErr, listErr error
	owner                                 datadog.User
	lookup                                keyLookup
	key                                   datadog.AppKey // set when lookup is found
}

// probeKeys runs the four live checks concurrently: the API key alone, both
// keys, the owner, and the owner's application keys. If the owner is a
// service account whose key may not list the current user's keys, the
// service-account route is tried next.
func (s *Service) probeKeys(ctx context.Context, cr datadog.Credentials) probe {
	var p probe
	var keys []datadog.AppKey
	var wg sync.WaitGroup
	wg.Go(func() { p.apiKeyErr = s.dd.ValidateAPIKey(ctx, cr) })
	wg.Go(func() { p.keysErr = s.dd.ValidateKeys(ctx, cr) })
	wg.Go(func() { p.owner, p.ownerErr = s.dd.CurrentUser(ctx, cr) })
	wg.Go(func() { keys, p.listErr = s.dd.ListAppKeys(ctx, cr, datadog.KeyOwner{}) })
	wg.Wait()
	if p.ownerErr == nil && p.owner.ServiceAccount && errors.Is(p.listErr, datadog.ErrUnauthorized) {
		keys, p.listErr = s.dd.ListAppKeys(ctx, cr, datadog.KeyOwner{ServiceAccountID: p.owner.ID})
	}
	p.lookup, p.key = findKey(keys, p.listErr, p.owner.ID, cr.AppKey)
	return p
}

// findKey picks the application key among its owner's keys by its last four
// characters. Zero or several matches leave the key unidentified: guessing
// would let a later rotation delete the wrong key.
func findKey(keys []datadog.AppKey, listErr error, ownerID, appKey string) (keyLookup, datadog.AppKey) {
	if listErr != nil {
		return lookupForbidden, datadog.AppKey{}
	}
	last4 := appKey[max(0, len(appKey)-4):]
	var matches []datadog.AppKey
	for _, k := range keys {
		if k.Last4 == last4 && (k.OwnerID == "" || ownerID == "" || k.OwnerID == ownerID) {
			matches = append(matches, k)
		}
	}
	switch len(matches) {
	case 0:
		return lookupNone, datadog.AppKey{}
	case 1:
		return lookupFound, matches[0]
	default:
		return lookupAmbiguous, datadog.AppKey{}
	}
}

// outage returns the first failure that is not a verdict on the keys:
// Datadog unreachable, 5xx, or answering nonsense.
func (p probe) outage() error {
	for _, err := range []error{p.apiKeyErr, p.keysErr, p.ownerErr, p.listErr} {
		if err != nil && !errors.Is(err, datadog.ErrUnauthorized) {
			return err
		}
	}
	return nil
}

func (p probe) apiKeyOK() bool { return p.apiKeyErr == nil }
func (p probe) appKeyOK() bool { return p.keysErr == nil && p.ownerErr == nil }

// verdict turns a probe into an error for operations that need working
// keys: ErrRejected naming the key Datadog refused, or
// ErrDatadogUnavailable. A definite rejection wins over an outage of
// another check, since retrying will not fix the key.
func (p probe) verdict() error {
	switch {
	case errors.Is(p.apiKeyErr, datadog.ErrUnauthorized):
		return rejected("credentials.apiKey", "Datadog rejected the API key", p.apiKeyErr)
	case !p.apiKeyOK():
		return unavailable(p.apiKeyErr)
	case errors.Is(p.keysErr, datadog.ErrUnauthorized), errors.Is(p.ownerErr, datadog.ErrUnauthorized):
		return rejected("credentials.applicationKey",
			"Datadog rejected the application key (or it belongs to another organisation than the API key)",
			errors.Join(p.keysErr, p.ownerErr))
	}
	if err := p.outage(); err != nil {
		return unavailable(err)
	}
	return nil
}

func rejected(field, msg string, cause error) error {
	return &Error{Kind: ErrRejected, Message: msg, Details: []FieldError{{field, msg}}, Err: cause}
}

func unavailable(cause error) error {
	return &Error{Kind: ErrDatadogUnavailable, Message: "Datadog could not be reached or kept failing; try again later", Err: cause}
}

// validation builds the user-facing report of a probe. It assumes
// verdict() found no outage, so every check has a definite answer.
func (p probe) validation(cr datadog.Credentials, at time.Time) Validation {
	checks := []Check{
		{Name: checkURL, OK: true, Message: fmt.Sprintf("%s (%s)", cr.Site.URL(), cr.Site.Name)},
		p.apiKeyCheck(),
		p.appKeyCheck(),
		p.permissionsCheck(),
	}
	valid := true
	for _, c := range checks {
		valid = valid && c.OK
	}
	return Validation{Valid: valid, Checks: checks, CheckedAt: at.UTC()}
}

func (p probe) apiKeyCheck() Check {
	if p.apiKeyOK() {
		return Check{Name: checkAPIKey, OK: true}
	}
	return Check{Name: checkAPIKey, Message: "Datadog rejected the API key"}
}

func (p probe) appKeyCheck() Check {
	switch {
	case !p.apiKeyOK():
		return Check{Name: checkApplicationKey, Message: "not checked: the API key was rejected"}
	case !p.appKeyOK():
		return Check{Name: checkApplicationKey, Message: "Datadog rejected the application key (or it belongs to another organisation than the API key)"}
	}
	return Check{Name: checkApplicationKey, OK: true}
}

func (p probe) permissionsCheck() Check {
	if !p.apiKeyOK() || !p.appKeyOK() {
		return Check{Name: checkPermissions, Message: "not checked: the keys were rejected"}
	}
	caps := capabilitiesOf(p.lookup, p.key.Scopes)
	c := Check{Name: checkPermissions, OK: p.lookup == lookupFound && len(caps.MissingPermissions) == 0, Missing: caps.MissingPermissions}
	if p.lookup != lookupFound {
		c.Message = lookupWarning(p.lookup)
	}
	return c
}

// Capabilities says what ddconn can do with a connection's application key.
type Capabilities struct {
	// RotateOwnKey: the key may replace itself (needs user_app_keys).
	RotateOwnKey bool `json:"rotateOwnKey"`
	// ManageServiceAccountKeys: the key may manage service-account keys
	// (needs service_account_write and user_access_read).
	ManageServiceAccountKeys bool `json:"manageServiceAccountKeys"`
	// MissingPermissions names the permissions the key lacks for the
	// capabilities above.
	MissingPermissions []string `json:"missingPermissions"`
}

// capabilitiesOf derives capabilities from the key's scopes. An unscoped key
// (nil scopes) holds every permission of its owner; ddconn does not read the
// owner's role, so it counts them as granted. A key that could not be
// identified has unknown scopes: nothing is granted, and only a permission
// proven missing (the key may not list its owner's keys) is named.
func capabilitiesOf(l keyLookup, scopes []string) Capabilities {
	var has func(string) bool
	switch {
	case l == lookupFound && scopes == nil:
		has = func(string) bool { return true }
	case l == lookupFound:
		has = func(p string) bool { return slices.Contains(scopes, p) }
	case l == lookupForbidden:
		return Capabilities{MissingPermissions: []string{permUserAppKeys}}
	default:
		return Capabilities{MissingPermissions: []string{}}
	}
	c := Capabilities{
		RotateOwnKey:             has(permUserAppKeys),
		ManageServiceAccountKeys: has(permServiceAccountWrite) && has(permUserAccessRead),
		MissingPermissions:       []string{},
	}
	for _, p := range []string{permUserAppKeys, permServiceAccountWrite, permUserAccessRead} {
		if !has(p) {
			c.MissingPermissions = append(c.MissingPermissions, p)
		}
	}
	return c
}

// lookupWarning explains an unidentified application key to users.
func lookupWarning(l keyLookup) string {
	switch l {
	case lookupNone:
		return "the application key was not found among its owner's application keys, so its id and scopes are unknown and it cannot be rotated"
	case lookupAmbiguous:
		return "several of the owner's application keys end with the same four characters, so the key's id and scopes are unknown and it cannot be rotated"
	case lookupForbidden:
		return "the application key may not list its owner's application keys (it lacks user_app_keys), so its id and scopes are unknown and it cannot be rotated"
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
