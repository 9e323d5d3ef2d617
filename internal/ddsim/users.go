package ddsim

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	usersType = "users"
	orgsType  = "orgs"
	rolesType = "roles"
)

// Wire types of users (User, UserResponse, UsersResponse) and of the objects
// they include (Organization, Role).

type userData struct {
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	Attributes    userAttributes    `json:"attributes"`
	Relationships userRelationships `json:"relationships"`
}

type userAttributes struct {
	CreatedAt      string  `json:"created_at"`
	ModifiedAt     string  `json:"modified_at"`
	Disabled       bool    `json:"disabled"`
	Email          string  `json:"email"`
	Handle         string  `json:"handle"`
	Icon           string  `json:"icon"`
	LastLoginTime  *string `json:"last_login_time"`
	MFAEnabled     bool    `json:"mfa_enabled"`
	Name           *string `json:"name"`
	ServiceAccount bool    `json:"service_account"`
	Status         string  `json:"status"`
	Title          *string `json:"title"`
	UUID           string  `json:"uuid"`
	Verified       bool    `json:"verified"`
}

type userRelationships struct {
	Org   relationship     `json:"org"`
	Roles relationshipList `json:"roles"`
}

type relationshipList struct {
	Data []resourceRef `json:"data"`
}

type userDocument struct {
	Data     userData `json:"data"`
	Included []any    `json:"included,omitempty"`
}

type userList struct {
	Data     []userData `json:"data"`
	Included []any      `json:"included,omitempty"`
	Meta     listMeta   `json:"meta"`
}

type listMeta struct {
	Page pageCounts `json:"page"`
}

type pageCounts struct {
	TotalCount         int `json:"total_count"`
	TotalFilteredCount int `json:"total_filtered_count"`
}

type orgData struct {
	ID         string        `json:"id"`
	Type       string        `json:"type"`
	Attributes orgAttributes `json:"attributes"`
}

type orgAttributes struct {
	Name       string `json:"name"`
	PublicID   string `json:"public_id"`
	CreatedAt  string `json:"created_at"`
	ModifiedAt string `json:"modified_at"`
	Disabled   bool   `json:"disabled"`
}

type roleData struct {
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	Attributes    roleAttributes    `json:"attributes"`
	Relationships roleRelationships `json:"relationships"`
}

type roleAttributes struct {
	Name       string `json:"name"`
	CreatedAt  string `json:"created_at"`
	ModifiedAt string `json:"modified_at"`
	UserCount  int    `json:"user_count"`
}

type roleRelationships struct {
	Permissions relationshipList `json:"permissions"`
}

type permissionList struct {
	Data []permissionData `json:"data"`
}

type permissionData struct {
	ID         string               `json:"id"`
	Type       string               `json:"type"`
	Attributes permissionAttributes `json:"attributes"`
}

type permissionAttributes struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	GroupName   string `json:"group_name"`
	DisplayType string `json:"display_type"`
	Created     string `json:"created"`
	Restricted  bool   `json:"restricted"`
}

// currentUser answers GET /api/v2/current_user: the owner of the calling
// application key, with its org and roles included.
func (s *Simulator) currentUser(c *caller, _ request) reply {
	doc := userDocument{Data: s.renderUser(c.owner), Included: []any{s.renderOrg(c.org)}}
	for _, r := range s.rolesOf([]*user{c.owner}) {
		doc.Included = append(doc.Included, r)
	}
	return ok(doc)
}

// listUsers answers GET /api/v2/users: users and service accounts of the
// caller's org, filtered, sorted and paged.
func (s *Simulator) listUsers(c *caller, in request) reply {
	q := in.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		return badRequest(err.Error())
	}
	statuses, invalid := parseStatuses(q.Get("filter[status]"))
	if invalid != "" {
		return badRequest(invalid)
	}
	sortSpec, invalid := userSortSpec(q)
	if invalid != "" {
		return badRequest(invalid)
	}
	total := 0
	var users []*user
	for _, u := range s.st.Users {
		if u.OrgID != c.org.ID {
			continue
		}
		total++
		if userMatches(u, q.Get("filter")) && (statuses == nil || statuses[userStatus(u)]) {
			users = append(users, u)
		}
	}
	if err := sortBy(users, sortSpec, "name", userSortFields, func(u *user) string { return u.ID }); err != nil {
		return badRequest(err.Error())
	}
	shown := paginate(users, p)
	list := userList{
		Data: []userData{},
		Meta: listMeta{Page: pageCounts{TotalCount: total, TotalFilteredCount: len(users)}},
	}
	for _, u := range shown {
		list.Data = append(list.Data, s.renderUser(u))
	}
	for _, r := range s.rolesOf(shown) {
		list.Included = append(list.Included, r)
	}
	return ok(list)
}

var userSortFields = map[string]func(a, b *user) int{
	"name":        func(a, b *user) int { return strings.Compare(a.Name, b.Name) },
	"email":       func(a, b *user) int { return strings.Compare(a.Email, b.Email) },
	"status":      func(a, b *user) int { return strings.Compare(userStatus(a), userStatus(b)) },
	"created_at":  func(a, b *user) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"modified_at": func(a, b *user) int { return a.ModifiedAt.Compare(b.ModifiedAt) },
}

// userSortSpec combines sort and sort_dir: when sort_dir is given it decides
// the direction, otherwise a '-' prefix on sort does.
func userSortSpec(q url.Values) (spec, invalid string) {
	spec = cmp.Or(q.Get("sort"), "name")
	switch q.Get("sort_dir") {
	case "":
		return spec, ""
	case "asc":
		return strings.TrimPrefix(spec, "-"), ""
	case "desc":
		return "-" + strings.TrimPrefix(spec, "-"), ""
	default:
		return "", "sort_dir must be asc or desc"
	}
}

// parseStatuses reads filter[status], a comma-separated subset of Active,
// Pending and Disabled. nil means no filter.
func parseStatuses(v string) (set map[string]bool, invalid string) {
	if v == "" {
		return nil, ""
	}
	set = map[string]bool{}
	for _, st := range strings.Split(v, ",") {
		st = strings.TrimSpace(st)
		if !slices.Contains([]string{"Active", "Pending", "Disabled"}, st) {
			return nil, "filter[status] accepts Active, Pending and Disabled"
		}
		set[st] = true
	}
	return set, ""
}

func userMatches(u *user, filter string) bool {
	return filter == "" || containsFold(u.Name, filter) || containsFold(u.Email, filter)
}

// userStatus is Active or Disabled; the simulator has no pending invitations.
func userStatus(u *user) string {
	if u.Disabled {
		return "Disabled"
	}
	return "Active"
}

// listPermissions answers GET /api/v2/permissions with the whole catalogue.
// include_scopes is validated but changes nothing: every catalogue entry can
// be assigned to roles.
func (s *Simulator) listPermissions(_ *caller, in request) reply {
	if v := in.URL.Query().Get("include_scopes"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return badRequest("include_scopes must be true or false")
		}
	}
	list := permissionList{Data: make([]permissionData, 0, len(permissionCatalogue))}
	for _, p := range permissionCatalogue {
		list.Data = append(list.Data, permissionData{
			ID:   nameID("permission:" + p.name),
			Type: "permissions",
			Attributes: permissionAttributes{
				Name: p.name, DisplayName: p.displayName, Description: p.description,
				GroupName: p.group, DisplayType: p.displayType, Created: timestamp(permissionsCreated),
			},
		})
	}
	return ok(list)
}

func (s *Simulator) renderUser(u *user) userData {
	name := u.Name
	d := userData{
		ID:   u.ID,
		Type: usersType,
		Attributes: userAttributes{
			CreatedAt:      timestamp(u.CreatedAt),
			ModifiedAt:     timestamp(u.ModifiedAt),
			Disabled:       u.Disabled,
			Email:          u.Email,
			Handle:         u.Email,
			Icon:           gravatar(u.Email),
			Name:           &name,
			ServiceAccount: u.ServiceAccount,
			Status:         userStatus(u),
			UUID:           u.ID,
			Verified:       true,
		},
		Relationships: userRelationships{
			Org:   relationship{Data: resourceRef{ID: u.OrgID, Type: orgsType}},
			Roles: relationshipList{Data: []resourceRef{}},
		},
	}
	for _, id := range u.RoleIDs {
		d.Relationships.Roles.Data = append(d.Relationships.Roles.Data, resourceRef{ID: id, Type: rolesType})
	}
	return d
}

// gravatar is the icon URL Datadog shows for an email address.
func gravatar(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "https://secure.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=48&d=retro"
}

func (s *Simulator) renderOrg(o *org) orgData {
	return orgData{ID: o.ID, Type: orgsType, Attributes: orgAttributes{
		Name: o.Name, PublicID: tail(o.ID, 12),
		CreatedAt: timestamp(o.CreatedAt), ModifiedAt: timestamp(o.CreatedAt),
	}}
}

// rolesOf renders the distinct roles held by users, in id order.
func (s *Simulator) rolesOf(users []*user) []roleData {
	var ids []string
	for _, u := range users {
		ids = append(ids, u.RoleIDs...)
	}
	slices.Sort(ids)
	var roles []roleData
	for _, id := range slices.Compact(ids) {
		if r := s.st.Roles[id]; r != nil {
			roles = append(roles, s.renderRole(r))
		}
	}
	return roles
}

func (s *Simulator) renderRole(r *role) roleData {
	d := roleData{
		ID:   r.ID,
		Type: rolesType,
		Attributes: roleAttributes{
			Name: r.Name, CreatedAt: timestamp(r.CreatedAt), ModifiedAt: timestamp(r.CreatedAt),
			UserCount: s.roleUserCount(r.ID),
		},
		Relationships: roleRelationships{Permissions: relationshipList{Data: []resourceRef{}}},
	}
	for _, p := range r.Permissions {
		d.Relationships.Permissions.Data = append(d.Relationships.Permissions.Data, resourceRef{ID: nameID("permission:" + p), Type: "permissions"})
	}
	return d
}

func (s *Simulator) roleUserCount(roleID string) int {
	n := 0
	for _, u := range s.st.Users {
		if slices.Contains(u.RoleIDs, roleID) {
			n++
		}
	}
	return n
}
