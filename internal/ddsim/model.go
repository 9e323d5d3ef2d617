package ddsim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"time"
)

// state is everything the simulator knows about its organisations. It is the
// unit of persistence: DataFile holds exactly this value as JSON, secrets
// included, because a restarted simulator must keep accepting the same keys.
type state struct {
	Orgs    map[string]*org    `json:"orgs"`
	Roles   map[string]*role   `json:"roles"`
	Users   map[string]*user   `json:"users"`
	APIKeys map[string]*apiKey `json:"api_keys"`
	AppKeys map[string]*appKey `json:"app_keys"`
}

func newState() *state {
	return &state{
		Orgs:    map[string]*org{},
		Roles:   map[string]*role{},
		Users:   map[string]*user{},
		APIKeys: map[string]*apiKey{},
		AppKeys: map[string]*appKey{},
	}
}

// fillMaps replaces maps a hand-written data file left out with empty ones.
func (st *state) fillMaps() {
	if st.Orgs == nil {
		st.Orgs = map[string]*org{}
	}
	if st.Roles == nil {
		st.Roles = map[string]*role{}
	}
	if st.Users == nil {
		st.Users = map[string]*user{}
	}
	if st.APIKeys == nil {
		st.APIKeys = map[string]*apiKey{}
	}
	if st.AppKeys == nil {
		st.AppKeys = map[string]*appKey{}
	}
}

type org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// role holds permissions; users get their permissions only through roles, as
// in Datadog.
type role struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"created_at"`
}

// user is a human user or a service account.
type user struct {
	ID             string    `json:"id"`
	OrgID          string    `json:"org_id"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	ServiceAccount bool      `json:"service_account"`
	Disabled       bool      `json:"disabled"`
	RoleIDs        []string  `json:"role_ids"`
	CreatedAt      time.Time `json:"created_at"`
	ModifiedAt     time.Time `json:"modified_at"`
}

type apiKey struct {
	ID                      string     `json:"id"`
	OrgID                   string     `json:"org_id"`
	Name                    string     `json:"name"`
	Secret                  string     `json:"secret"`
	Category                string     `json:"category"`
	RemoteConfigReadEnabled bool       `json:"remote_config_read_enabled"`
	CreatedBy               string     `json:"created_by,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	ModifiedAt              time.Time  `json:"modified_at"`
	ActiveAt                time.Time  `json:"active_at"`
	LastUsedAt              *time.Time `json:"last_used_at,omitempty"`
}

// appKey is an application key. Scopes nil means unscoped: the key carries
// every permission of its owner.
type appKey struct {
	ID         string     `json:"id"`
	OwnerID    string     `json:"owner_id"`
	Name       string     `json:"name"`
	Secret     string     `json:"secret"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ActiveAt   time.Time  `json:"active_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// last4 is the public hint Datadog shows for a key: its final four characters.
func last4(secret string) string { return tail(secret, 4) }

// tail returns the last n bytes of s, or all of s when it is shorter.
func tail(s string, n int) string {
	return s[max(len(s)-n, 0):]
}

// active reports whether a key created with an activation delay may
// authenticate yet.
func active(activeAt, now time.Time) bool {
	return !now.Before(activeAt)
}

// newAPIKeySecret returns 32 lowercase hex characters, Datadog's API key format.
func newAPIKeySecret() string { return randomHex(16) }

// newAppKeySecret returns 40 lowercase hex characters, Datadog's application
// key length (the charset of real keys is unconfirmed; hex is a safe subset).
func newAppKeySecret() string { return randomHex(20) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b)
}

// newID returns a random (version 4) UUID.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return formatUUID(b, 4)
}

// nameID returns a UUID derived from name (version 5 style), so catalogue
// entries such as permissions keep the same id across runs.
func nameID(name string) string {
	sum := sha1.Sum([]byte("ddsim:" + name))
	return formatUUID(sum[:16], 5)
}

func formatUUID(b []byte, version byte) string {
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
