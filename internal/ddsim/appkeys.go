package ddsim

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Wire types of application keys (FullApplicationKey / PartialApplicationKey
// share one shape; Partial simply never carries "key").

type appKeyData struct {
	ID            string              `json:"id"`
	Type          string              `json:"type"`
	Attributes    appKeyAttributes    `json:"attributes"`
	Relationships appKeyRelationships `json:"relationships"`
}

type appKeyAttributes struct {
	Name       string   `json:"name"`
	CreatedAt  string   `json:"created_at"`
	Last4      string   `json:"last4"`
	LastUsedAt *string  `json:"last_used_at"`
	Scopes     []string `json:"scopes"` // null: unscoped
	Key        string   `json:"key,omitempty"`
}

type appKeyRelationships struct {
	OwnedBy relationship `json:"owned_by"`
}

type relationship struct {
	Data resourceRef `json:"data"`
}

type resourceRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type appKeyDocument struct {
	Data     appKeyData `json:"data"`
	Included []any      `json:"included,omitempty"`
}

type appKeyList struct {
	Data     []appKeyData `json:"data"`
	Included []any        `json:"included,omitempty"`
	Meta     appKeyMeta   `json:"meta"`
}

type appKeyMeta struct {
	MaxAllowedPerUser int            `json:"max_allowed_per_user"`
	Page              filteredCounts `json:"page"`
}

type filteredCounts struct {
	TotalFilteredCount int `json:"total_filtered_count"`
}

// Request bodies.

// appKeyWritable is what a create or an update may set.
type appKeyWritable struct {
	Name   *string        `json:"name"`
	Scopes nullableScopes `json:"scopes"`
}

type appKeyCreateBody struct {
	Data *struct {
		Type       string          `json:"type"`
		Attributes *appKeyWritable `json:"attributes"`
	} `json:"data"`
}

type appKeyUpdateBody struct {
	Data *struct {
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		Attributes *appKeyWritable `json:"attributes"`
	} `json:"data"`
}

const appKeysType = "application_keys"

// Current-user routes: the owner is whoever owns the calling key, and GET and
// PATCH answer the Full schema (with the secret only when OTR is off).

func (s *Simulator) listCurrentUserAppKeys(c *caller, in request) reply {
	return s.listAppKeys(c.owner, in, true)
}

func (s *Simulator) createCurrentUserAppKey(c *caller, in request) reply {
	return s.createAppKey(c.owner, in)
}

func (s *Simulator) getCurrentUserAppKey(c *caller, in request) reply {
	return s.getAppKey(c.owner, in.PathValue("app_key_id"), s.opts.ShowKeyOnRead)
}

func (s *Simulator) updateCurrentUserAppKey(c *caller, in request) reply {
	return s.updateAppKey(c.owner, in, s.opts.ShowKeyOnRead)
}

func (s *Simulator) deleteCurrentUserAppKey(c *caller, in request) reply {
	return s.deleteAppKey(c.owner, in.PathValue("app_key_id"))
}

// Service-account routes: the owner is the service account in the path, which
// must be a service account of the caller's org; GET and PATCH answer the
// Partial schema, which never has the secret.

func (s *Simulator) listServiceAccountAppKeys(c *caller, in request) reply {
	return s.withServiceAccount(c, in, func(sa *user) reply { return s.listAppKeys(sa, in, false) })
}

func (s *Simulator) createServiceAccountAppKey(c *caller, in request) reply {
	return s.withServiceAccount(c, in, func(sa *user) reply { return s.createAppKey(sa, in) })
}

func (s *Simulator) getServiceAccountAppKey(c *caller, in request) reply {
	return s.withServiceAccount(c, in, func(sa *user) reply { return s.getAppKey(sa, in.PathValue("app_key_id"), false) })
}

func (s *Simulator) updateServiceAccountAppKey(c *caller, in request) reply {
	return s.withServiceAccount(c, in, func(sa *user) reply { return s.updateAppKey(sa, in, false) })
}

func (s *Simulator) deleteServiceAccountAppKey(c *caller, in request) reply {
	return s.withServiceAccount(c, in, func(sa *user) reply { return s.deleteAppKey(sa, in.PathValue("app_key_id")) })
}

// withServiceAccount runs h for the service account named in the path, or
// answers 404 when it is unknown, a human user, or in another org.
func (s *Simulator) withServiceAccount(c *caller, in request, h func(sa *user) reply) reply {
	sa := s.st.Users[in.PathValue("service_account_id")]
	if sa == nil || !sa.ServiceAccount || sa.OrgID != c.org.ID {
		return notFound("Service account not found")
	}
	return h(sa)
}

// Shared operations. s.mu is held by the caller of every handler.

func (s *Simulator) listAppKeys(owner *user, in request, allowInclude bool) reply {
	q := in.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		return badRequest(err.Error())
	}
	created, err := parseTimeRange(q, "created_at")
	if err != nil {
		return badRequest(err.Error())
	}
	include := map[string]bool{}
	if allowInclude {
		if include, err = includes(q, "owned_by"); err != nil {
			return badRequest(err.Error())
		}
	}
	keys := s.ownedKeys(owner.ID, func(k *appKey) bool {
		return containsFold(k.Name, q.Get("filter")) && created.contains(k.CreatedAt)
	})
	if err := sortBy(keys, q.Get("sort"), "name", appKeySortFields, func(k *appKey) string { return k.ID }); err != nil {
		return badRequest(err.Error())
	}
	list := appKeyList{
		Data: []appKeyData{},
		Meta: appKeyMeta{MaxAllowedPerUser: s.opts.MaxKeysPerUser, Page: filteredCounts{TotalFilteredCount: len(keys)}},
	}
	for _, k := range paginate(keys, p) {
		list.Data = append(list.Data, s.renderAppKey(k, false))
	}
	if include["owned_by"] {
		list.Included = []any{s.renderUser(owner)}
	}
	return ok(list)
}

var appKeySortFields = map[string]func(a, b *appKey) int{
	"created_at": func(a, b *appKey) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"last4":      func(a, b *appKey) int { return strings.Compare(last4(a.Secret), last4(b.Secret)) },
	"name":       func(a, b *appKey) int { return strings.Compare(a.Name, b.Name) },
}

// ownedKeys returns ownerID's keys that pass keep.
func (s *Simulator) ownedKeys(ownerID string, keep func(*appKey) bool) []*appKey {
	var keys []*appKey
	for _, k := range s.st.AppKeys {
		if k.OwnerID == ownerID && keep(k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func (s *Simulator) createAppKey(owner *user, in request) reply {
	var body appKeyCreateBody
	if err := decodeJSON(in.body, &body); err != nil {
		return badRequest(err.Error())
	}
	if body.Data == nil || body.Data.Type != appKeysType || body.Data.Attributes == nil {
		return badRequest(`data with type "application_keys" and attributes is required`)
	}
	attrs := body.Data.Attributes
	if attrs.Name == nil || strings.TrimSpace(*attrs.Name) == "" {
		return badRequest("name is required and must not be blank")
	}
	scopes, invalid := s.checkScopes(owner, attrs.Scopes.list)
	if invalid != "" {
		return badRequest(invalid)
	}
	if n := len(s.ownedKeys(owner.ID, func(*appKey) bool { return true })); n >= s.opts.MaxKeysPerUser {
		return badRequest(fmt.Sprintf("Application key limit reached: an owner may hold at most %d application keys", s.opts.MaxKeysPerUser))
	}
	k := s.newAppKeyLocked(owner.ID, *attrs.Name, scopes, s.opts.ActivationDelay)
	s.log.Info("application key created", slog.String("app_key_id", k.ID), slog.String("owner_id", owner.ID))
	return created(appKeyDocument{Data: s.renderAppKey(k, true)})
}

func (s *Simulator) getAppKey(owner *user, id string, withSecret bool) reply {
	k := s.st.AppKeys[id]
	if k == nil || k.OwnerID != owner.ID {
		return notFound("Application key not found")
	}
	return ok(appKeyDocument{Data: s.renderAppKey(k, withSecret)})
}

// updateAppKey applies PATCH semantics: attributes left out stay as they
// are, "scopes": null makes the key unscoped.
func (s *Simulator) updateAppKey(owner *user, in request, withSecret bool) reply {
	id := in.PathValue("app_key_id")
	k := s.st.AppKeys[id]
	if k == nil || k.OwnerID != owner.ID {
		return notFound("Application key not found")
	}
	var body appKeyUpdateBody
	if err := decodeJSON(in.body, &body); err != nil {
		return badRequest(err.Error())
	}
	if body.Data == nil || body.Data.Type != appKeysType || body.Data.Attributes == nil {
		return badRequest(`data with type "application_keys", id and attributes is required`)
	}
	if body.Data.ID != id {
		return badRequest("data.id must match the application key id in the path")
	}
	attrs := body.Data.Attributes
	if attrs.Name != nil && strings.TrimSpace(*attrs.Name) == "" {
		return badRequest("name must not be blank")
	}
	if attrs.Scopes.set {
		scopes, invalid := s.checkScopes(owner, attrs.Scopes.list)
		if invalid != "" {
			return badRequest(invalid)
		}
		k.Scopes = scopes
	}
	if attrs.Name != nil {
		k.Name = *attrs.Name
	}
	return ok(appKeyDocument{Data: s.renderAppKey(k, withSecret)})
}

// deleteAppKey removes the key at once: it stops authenticating with the
// very next request.
func (s *Simulator) deleteAppKey(owner *user, id string) reply {
	k := s.st.AppKeys[id]
	if k == nil || k.OwnerID != owner.ID {
		return notFound("Application key not found")
	}
	delete(s.st.AppKeys, id)
	s.log.Info("application key deleted", slog.String("app_key_id", id), slog.String("owner_id", owner.ID))
	return noContent()
}

// checkScopes validates requested scopes: nil (absent or null) means
// unscoped; otherwise a non-empty list of permission names the owner holds.
// It returns the de-duplicated scopes, or why they are invalid. Datadog
// answers 400 "Invalid scopes" for unknown names; refusing scopes beyond the
// owner's permissions is the simulator's choice (Datadog's behaviour there is
// unconfirmed).
func (s *Simulator) checkScopes(owner *user, scopes []string) (valid []string, invalid string) {
	if scopes == nil {
		return nil, ""
	}
	if len(scopes) == 0 {
		return nil, "Invalid scopes: give at least one scope, or null for an unscoped key"
	}
	owned := s.userPermissions(owner)
	for _, name := range scopes {
		switch {
		case !knownPermission(name):
			return nil, fmt.Sprintf("Invalid scopes: %q is not a permission name", name)
		case !slices.Contains(owned, name):
			return nil, fmt.Sprintf("Invalid scopes: the key owner does not have %q", name)
		case !slices.Contains(valid, name):
			valid = append(valid, name)
		}
	}
	return valid, ""
}

// renderAppKey builds the wire form of k; the secret appears only when
// withSecret is set.
func (s *Simulator) renderAppKey(k *appKey, withSecret bool) appKeyData {
	d := appKeyData{
		ID:   k.ID,
		Type: appKeysType,
		Attributes: appKeyAttributes{
			Name:       k.Name,
			CreatedAt:  timestamp(k.CreatedAt),
			Last4:      last4(k.Secret),
			LastUsedAt: optionalTimestamp(k.LastUsedAt),
			Scopes:     slices.Clone(k.Scopes),
		},
		Relationships: appKeyRelationships{OwnedBy: relationship{Data: resourceRef{ID: k.OwnerID, Type: usersType}}},
	}
	if withSecret {
		d.Attributes.Key = k.Secret
	}
	return d
}
