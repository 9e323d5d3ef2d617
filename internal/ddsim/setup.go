package ddsim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// UserSpec describes a user or service account for AddUser.
type UserSpec struct {
	Name, Email              string
	ServiceAccount, Disabled bool
	// Permissions are granted through a role created for this user.
	Permissions []string
	// Role names that role; empty means "<Name> Role".
	Role string
}

// KeyInfo describes an application key without its secret.
type KeyInfo struct {
	ID        string    `json:"id"`
	OwnerID   string    `json:"owner"`
	Name      string    `json:"name"`
	Last4     string    `json:"last4"`
	Scopes    []string  `json:"scopes"` // null: unscoped
	CreatedAt time.Time `json:"created_at"`
}

// CreateOrg adds an organisation and returns its id.
func (s *Simulator) CreateOrg(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &org{ID: newID(), Name: name, CreatedAt: s.now().UTC()}
	s.st.Orgs[o.ID] = o
	s.persistLocked()
	return o.ID
}

// AddUser adds a user or service account to orgID and returns its id. An
// empty Email becomes "<id>@example.com". It panics when orgID is unknown, a
// test-setup mistake.
func (s *Simulator) AddUser(orgID string, u UserSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Orgs[orgID] == nil {
		panic(fmt.Sprintf("ddsim: AddUser: unknown org %q", orgID))
	}
	now := s.now().UTC()
	roleName := cmp.Or(u.Role, u.Name+" Role")
	r := s.insertRole(&role{ID: newID(), OrgID: orgID, Name: roleName, Permissions: slices.Clone(u.Permissions), CreatedAt: now})
	usr := &user{
		ID: newID(), OrgID: orgID, Name: u.Name, Email: u.Email,
		ServiceAccount: u.ServiceAccount, Disabled: u.Disabled,
		RoleIDs: []string{r.ID}, CreatedAt: now, ModifiedAt: now,
	}
	if usr.Email == "" {
		usr.Email = usr.ID + "@example.com"
	}
	s.st.Users[usr.ID] = usr
	s.persistLocked()
	return usr.ID
}

// AddAPIKey creates an API key in orgID, active at once, and returns its
// secret and id. It panics when orgID is unknown.
func (s *Simulator) AddAPIKey(orgID, name string) (key, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Orgs[orgID] == nil {
		panic(fmt.Sprintf("ddsim: AddAPIKey: unknown org %q", orgID))
	}
	k := s.newAPIKeyLocked(orgID, name, "", 0)
	s.persistLocked()
	return k.Secret, k.ID
}

// AddAppKey creates an application key owned by ownerID and returns its
// secret and id. nil scopes make an unscoped key. Scopes are not checked
// against the catalogue or the owner's permissions, and the activation delay
// does not apply. It panics when ownerID is unknown.
func (s *Simulator) AddAppKey(ownerID, name string, scopes []string) (key, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Users[ownerID] == nil {
		panic(fmt.Sprintf("ddsim: AddAppKey: unknown owner %q", ownerID))
	}
	k := s.newAppKeyLocked(ownerID, name, slices.Clone(scopes), 0)
	s.persistLocked()
	return k.Secret, k.ID
}

// SetUserDisabled disables or re-enables a user; a disabled user's keys do not
// authenticate. It reports whether the user exists.
func (s *Simulator) SetUserDisabled(userID string, disabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.Users[userID]
	if u == nil {
		return false
	}
	u.Disabled = disabled
	u.ModifiedAt = s.now().UTC()
	s.persistLocked()
	return true
}

// Keys lists every application key of every org, oldest first, without
// secrets.
func (s *Simulator) Keys() []KeyInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	infos := make([]KeyInfo, 0, len(s.st.AppKeys))
	for _, k := range s.st.AppKeys {
		infos = append(infos, KeyInfo{
			ID: k.ID, OwnerID: k.OwnerID, Name: k.Name, Last4: last4(k.Secret),
			Scopes: slices.Clone(k.Scopes), CreatedAt: k.CreatedAt,
		})
	}
	slices.SortFunc(infos, func(a, b KeyInfo) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return infos
}

// insertRole stores r, or returns an existing role of the same org with the
// same name and permissions, so users created alike share a role.
func (s *Simulator) insertRole(r *role) *role {
	for _, existing := range s.st.Roles {
		if existing.OrgID == r.OrgID && existing.Name == r.Name && slices.Equal(existing.Permissions, r.Permissions) {
			return existing
		}
	}
	s.st.Roles[r.ID] = r
	return r
}

// newAPIKeyLocked stores a new API key that becomes usable after delay.
// s.mu must be held.
func (s *Simulator) newAPIKeyLocked(orgID, name, createdBy string, delay time.Duration) *apiKey {
	now := s.now().UTC()
	k := &apiKey{
		ID: newID(), OrgID: orgID, Name: name, Secret: newAPIKeySecret(),
		Category: "default", CreatedBy: createdBy,
		CreatedAt: now, ModifiedAt: now, ActiveAt: now.Add(delay),
	}
	s.st.APIKeys[k.ID] = k
	return k
}

// newAppKeyLocked stores a new application key that becomes usable after
// delay. s.mu must be held.
func (s *Simulator) newAppKeyLocked(ownerID, name string, scopes []string, delay time.Duration) *appKey {
	now := s.now().UTC()
	k := &appKey{
		ID: newID(), OwnerID: ownerID, Name: name, Secret: newAppKeySecret(),
		Scopes: scopes, CreatedAt: now, ActiveAt: now.Add(delay),
	}
	s.st.AppKeys[k.ID] = k
	return k
}
