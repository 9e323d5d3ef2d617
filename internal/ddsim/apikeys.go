package ddsim

import (
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

const apiKeysType = "api_keys"

// Wire types of API keys (FullAPIKey / PartialAPIKey share one shape; lists
// never carry "key").

type apiKeyData struct {
	ID            string               `json:"id"`
	Type          string               `json:"type"`
	Attributes    apiKeyAttributes     `json:"attributes"`
	Relationships *apiKeyRelationships `json:"relationships,omitempty"`
}

type apiKeyAttributes struct {
	Name                    string  `json:"name"`
	Key                     string  `json:"key,omitempty"`
	Last4                   string  `json:"last4"`
	CreatedAt               string  `json:"created_at"`
	ModifiedAt              string  `json:"modified_at"`
	DateLastUsed            *string `json:"date_last_used"`
	Category                string  `json:"category"`
	RemoteConfigReadEnabled bool    `json:"remote_config_read_enabled"`
}

type apiKeyRelationships struct {
	CreatedBy  relationship `json:"created_by"`
	ModifiedBy relationship `json:"modified_by"`
}

type apiKeyDocument struct {
	Data     apiKeyData `json:"data"`
	Included []any      `json:"included,omitempty"`
}

type apiKeyList struct {
	Data     []apiKeyData `json:"data"`
	Included []any        `json:"included,omitempty"`
	Meta     apiKeyMeta   `json:"meta"`
}

type apiKeyMeta struct {
	MaxAllowed int            `json:"max_allowed"`
	Page       filteredCounts `json:"page"`
}

type apiKeyCreateBody struct {
	Data *struct {
		Type       string `json:"type"`
		Attributes *struct {
			Name                    *string `json:"name"`
			Category                string  `json:"category"`
			RemoteConfigReadEnabled bool    `json:"remote_config_read_enabled"`
		} `json:"attributes"`
	} `json:"data"`
}

// listAPIKeys answers GET /api/v2/api_keys for the caller's org.
func (s *Simulator) listAPIKeys(c *caller, in request) reply {
	q := in.URL.Query()
	keep, invalid := apiKeyFilter(q)
	if invalid != "" {
		return badRequest(invalid)
	}
	p, err := parsePage(q)
	if err != nil {
		return badRequest(err.Error())
	}
	include, err := includes(q, "created_by", "modified_by")
	if err != nil {
		return badRequest(err.Error())
	}
	var keys []*apiKey
	for _, k := range s.st.APIKeys {
		if k.OrgID == c.org.ID && keep(k) {
			keys = append(keys, k)
		}
	}
	if err := sortBy(keys, q.Get("sort"), "name", apiKeySortFields, func(k *apiKey) string { return k.ID }); err != nil {
		return badRequest(err.Error())
	}
	shown := paginate(keys, p)
	list := apiKeyList{
		Data: []apiKeyData{},
		Meta: apiKeyMeta{MaxAllowed: maxAPIKeysPerOrg, Page: filteredCounts{TotalFilteredCount: len(keys)}},
	}
	for _, k := range shown {
		list.Data = append(list.Data, s.renderAPIKey(k, false))
	}
	list.Included = s.apiKeyCreators(shown, include)
	return ok(list)
}

var apiKeySortFields = map[string]func(a, b *apiKey) int{
	"created_at":  func(a, b *apiKey) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"modified_at": func(a, b *apiKey) int { return a.ModifiedAt.Compare(b.ModifiedAt) },
	"last4":       func(a, b *apiKey) int { return strings.Compare(last4(a.Secret), last4(b.Secret)) },
	"name":        func(a, b *apiKey) int { return strings.Compare(a.Name, b.Name) },
}

// apiKeyFilter builds the predicate of the list filters: filter (name),
// filter[created_at|modified_at][start|end], filter[category] and
// filter[remote_config_read_enabled].
func apiKeyFilter(q url.Values) (keep func(*apiKey) bool, invalid string) {
	created, err := parseTimeRange(q, "created_at")
	if err != nil {
		return nil, err.Error()
	}
	modified, err := parseTimeRange(q, "modified_at")
	if err != nil {
		return nil, err.Error()
	}
	var remoteConfig *bool
	if v := q.Get("filter[remote_config_read_enabled]"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, "filter[remote_config_read_enabled] must be true or false"
		}
		remoteConfig = &b
	}
	name, category := q.Get("filter"), q.Get("filter[category]")
	return func(k *apiKey) bool {
		return containsFold(k.Name, name) &&
			created.contains(k.CreatedAt) && modified.contains(k.ModifiedAt) &&
			(category == "" || k.Category == category) &&
			(remoteConfig == nil || k.RemoteConfigReadEnabled == *remoteConfig)
	}, ""
}

// createAPIKey answers POST /api/v2/api_keys. Names are unique per org and an
// org holds at most maxAPIKeysPerOrg keys; both violations are 400s.
func (s *Simulator) createAPIKey(c *caller, in request) reply {
	var body apiKeyCreateBody
	if err := decodeJSON(in.body, &body); err != nil {
		return badRequest(err.Error())
	}
	if body.Data == nil || body.Data.Type != apiKeysType || body.Data.Attributes == nil {
		return badRequest(`data with type "api_keys" and attributes is required`)
	}
	attrs := body.Data.Attributes
	if attrs.Name == nil || strings.TrimSpace(*attrs.Name) == "" {
		return badRequest("name is required and must not be blank")
	}
	count := 0
	for _, k := range s.st.APIKeys {
		if k.OrgID != c.org.ID {
			continue
		}
		count++
		if k.Name == *attrs.Name {
			return badRequest("An API key with this name already exists in the organization")
		}
	}
	if count >= maxAPIKeysPerOrg {
		return badRequest("API key limit reached for this organization")
	}
	k := s.newAPIKeyLocked(c.org.ID, *attrs.Name, c.owner.ID, s.opts.ActivationDelay)
	if attrs.Category != "" {
		k.Category = attrs.Category
	}
	k.RemoteConfigReadEnabled = attrs.RemoteConfigReadEnabled
	s.log.Info("api key created", slog.String("api_key_id", k.ID), slog.String("org_id", c.org.ID))
	return created(apiKeyDocument{Data: s.renderAPIKey(k, true)})
}

// getAPIKey answers GET /api/v2/api_keys/{api_key_id}. The secret is shown
// only when ShowKeyOnRead is set (see the package notes on OTR).
func (s *Simulator) getAPIKey(c *caller, in request) reply {
	include, err := includes(in.URL.Query(), "created_by", "modified_by")
	if err != nil {
		return badRequest(err.Error())
	}
	k := s.st.APIKeys[in.PathValue("api_key_id")]
	if k == nil || k.OrgID != c.org.ID {
		return notFound("API key not found")
	}
	return ok(apiKeyDocument{
		Data:     s.renderAPIKey(k, s.opts.ShowKeyOnRead),
		Included: s.apiKeyCreators([]*apiKey{k}, include),
	})
}

type apiKeyUpdateBody struct {
	Data *struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes *struct {
			Name     *string `json:"name"`
			Category *string `json:"category"`
		} `json:"attributes"`
	} `json:"data"`
}

// updateAPIKey answers PATCH /api/v2/api_keys/{api_key_id}: name is
// required (APIKeyUpdateAttributes) and stays unique per org. The secret is
// shown only when ShowKeyOnRead is set, as for GET.
func (s *Simulator) updateAPIKey(c *caller, in request) reply {
	id := in.PathValue("api_key_id")
	k := s.st.APIKeys[id]
	if k == nil || k.OrgID != c.org.ID {
		return notFound("API key not found")
	}
	var body apiKeyUpdateBody
	if err := decodeJSON(in.body, &body); err != nil {
		return badRequest(err.Error())
	}
	if body.Data == nil || body.Data.Type != apiKeysType || body.Data.Attributes == nil {
		return badRequest(`data with type "api_keys", id and attributes is required`)
	}
	if body.Data.ID != id {
		return badRequest("data.id must match the API key id in the path")
	}
	attrs := body.Data.Attributes
	if attrs.Name == nil || strings.TrimSpace(*attrs.Name) == "" {
		return badRequest("name is required and must not be blank")
	}
	for _, other := range s.st.APIKeys {
		if other.OrgID == c.org.ID && other.ID != id && other.Name == *attrs.Name {
			return badRequest("An API key with this name already exists in the organization")
		}
	}
	k.Name = *attrs.Name
	if attrs.Category != nil {
		k.Category = *attrs.Category
	}
	k.ModifiedAt = s.now()
	return ok(apiKeyDocument{Data: s.renderAPIKey(k, s.opts.ShowKeyOnRead)})
}

// deleteAPIKey answers DELETE /api/v2/api_keys/{api_key_id}; the key stops
// authenticating with the next request, even if it is the caller's own.
func (s *Simulator) deleteAPIKey(c *caller, in request) reply {
	id := in.PathValue("api_key_id")
	k := s.st.APIKeys[id]
	if k == nil || k.OrgID != c.org.ID {
		return notFound("API key not found")
	}
	delete(s.st.APIKeys, id)
	delete(s.windows, id)
	s.log.Info("api key deleted", slog.String("api_key_id", id), slog.String("org_id", c.org.ID))
	return noContent()
}

func (s *Simulator) renderAPIKey(k *apiKey, withSecret bool) apiKeyData {
	d := apiKeyData{
		ID:   k.ID,
		Type: apiKeysType,
		Attributes: apiKeyAttributes{
			Name:                    k.Name,
			Last4:                   last4(k.Secret),
			CreatedAt:               timestamp(k.CreatedAt),
			ModifiedAt:              timestamp(k.ModifiedAt),
			DateLastUsed:            optionalTimestamp(k.LastUsedAt),
			Category:                k.Category,
			RemoteConfigReadEnabled: k.RemoteConfigReadEnabled,
		},
	}
	if withSecret {
		d.Attributes.Key = k.Secret
	}
	if k.CreatedBy != "" {
		creator := relationship{Data: resourceRef{ID: k.CreatedBy, Type: usersType}}
		d.Relationships = &apiKeyRelationships{CreatedBy: creator, ModifiedBy: creator}
	}
	return d
}

// apiKeyCreators renders the users behind created_by / modified_by when the
// include parameter asks for them. Keys are never modified after creation
// here, so both relationships name the creator.
func (s *Simulator) apiKeyCreators(keys []*apiKey, include map[string]bool) []any {
	if !include["created_by"] && !include["modified_by"] {
		return nil
	}
	var included []any
	seen := map[string]bool{}
	for _, k := range keys {
		u := s.st.Users[k.CreatedBy]
		if u == nil || seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		included = append(included, s.renderUser(u))
	}
	return included
}
