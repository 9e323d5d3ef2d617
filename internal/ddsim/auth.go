package ddsim

import (
	"slices"
	"time"
)

// Header names of Datadog's two credentials. net/http canonicalises incoming
// header names, so matching is case-insensitive ("dd-api-key" works too).
const (
	headerAPIKey = "DD-API-KEY"
	headerAppKey = "DD-APPLICATION-KEY"
)

// caller is an authenticated request's identity. appKey and owner are nil on
// /api/v1/validate and /api/v2/validate, which check only the API key.
type caller struct {
	org    *org
	apiKey *apiKey
	appKey *appKey
	owner  *user
}

// apiKeyFor finds the active API key with this secret. s.mu must be held.
func (s *Simulator) apiKeyFor(secret string, now time.Time) *apiKey {
	if secret == "" {
		return nil
	}
	for _, k := range s.st.APIKeys {
		if k.Secret == secret && active(k.ActiveAt, now) && s.st.Orgs[k.OrgID] != nil {
			return k
		}
	}
	return nil
}

// appKeyFor finds the active application key with this secret whose owner is
// an enabled member of orgID: keys from other orgs never authenticate, and
// keys of disabled users stop working. s.mu must be held.
func (s *Simulator) appKeyFor(orgID, secret string, now time.Time) (*appKey, *user) {
	if secret == "" {
		return nil, nil
	}
	for _, k := range s.st.AppKeys {
		if k.Secret != secret || !active(k.ActiveAt, now) {
			continue
		}
		owner := s.st.Users[k.OwnerID]
		if owner == nil || owner.Disabled || owner.OrgID != orgID {
			return nil, nil
		}
		return k, owner
	}
	return nil, nil
}

// Authenticates reports whether this key pair would pass authentication on
// GET /api/v2/validate_keys right now.
func (s *Simulator) Authenticates(apiKey, appKey string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	key := s.apiKeyFor(apiKey, now)
	if key == nil {
		return false
	}
	k, _ := s.appKeyFor(key.OrgID, appKey, now)
	return k != nil
}

// userPermissions is the union of the permissions of u's roles. s.mu must be
// held.
func (s *Simulator) userPermissions(u *user) []string {
	var perms []string
	for _, id := range u.RoleIDs {
		if r := s.st.Roles[id]; r != nil {
			perms = append(perms, r.Permissions...)
		}
	}
	slices.Sort(perms)
	return slices.Compact(perms)
}

// allowed reports whether c holds any one of anyOf (Datadog's x-permission
// operator is OR). An unscoped key carries all of its owner's permissions; a
// scoped key carries its scopes, but never more than its owner has, even if
// the owner lost a permission after the key was scoped. s.mu must be held.
func (s *Simulator) allowed(c *caller, anyOf []string) bool {
	if len(anyOf) == 0 {
		return true
	}
	owned := s.userPermissions(c.owner)
	for _, p := range anyOf {
		if !slices.Contains(owned, p) {
			continue
		}
		if c.appKey.Scopes == nil || slices.Contains(c.appKey.Scopes, p) {
			return true
		}
	}
	return false
}
