package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/secretkind"

	"github.com/ddconn/ddconn/pkg/awsid"
)

// Policy is the access policy document:
//
//	{"administrators": {"principals": ["arn:aws:iam::111111111111:role/platform-*"], "groups": ["platform"]},
//	 "teams": {"team-a": {"principals": ["arn:aws:iam::111111111111:role/team-a-*"], "groups": ["team-a"],
//	                      "accounts": ["222222222222"], "grantableScopes": ["metrics_read", "logs_read_data"],
//	                      "consumerAccounts": ["222222222222", "333333333333"], "buses": ["team-a-requests"]}}}
type Policy struct {
	Administrators Members         `json:"administrators"`
	Teams          map[string]Team `json:"teams"`
}

// Members says who belongs to a team, or is an administrator.
type Members struct {
	// Principals are IAM principal ARN patterns: '*' matches any run of
	// characters, '?' one. An assumed-role session is matched by its role's
	// ARN, arn:aws:iam::<account>:role/<name> (STS drops the role's path).
	Principals []string `json:"principals,omitempty"`
	// Groups are JWT groups (the API's GroupsClaim).
	Groups []string `json:"groups,omitempty"`
	// Accounts are the AWS accounts whose provisioning events act for the
	// team (12 digits).
	Accounts []string `json:"accounts,omitempty"`
}

// Team is one team of the policy.
type Team struct {
	Members
	// GrantableScopes, when set, are the only scopes keys minted for the
	// team's connections may carry. Unset, they may carry any scope but
	// ManagementScopes.
	GrantableScopes []string `json:"grantableScopes,omitempty"`
	// ConsumerAccounts, when set, are the AWS accounts (12 digits) whose
	// principals the team's managed keys may name as readers. Unset, they
	// are the team's Accounts.
	ConsumerAccounts []string `json:"consumerAccounts,omitempty"`
	// Buses are the team's own event buses, by name, in ddconn's account
	// and region: a provisioning event that came through one acts for the
	// team, whatever account it came from. A bus belongs to one team at
	// most.
	Buses []string `json:"buses,omitempty"`
}

// has reports whether id is one of t: an event that came through a team
// bus by the bus alone, anything else as Members.has.
func (t Team) has(id Identity) bool {
	if id.Kind == KindEvent && id.Bus != "" {
		return slices.Contains(t.Buses, id.Bus)
	}
	return t.Members.has(id)
}

// consumerAccounts are the accounts t may name readers in.
func (t Team) consumerAccounts() []string {
	if t.ConsumerAccounts != nil {
		return t.ConsumerAccounts
	}
	return t.Accounts
}

// MaxPolicyBytes bounds the policy document.
const MaxPolicyBytes = 64 << 10

// ManagementScopes are the Datadog permissions that manage keys, users or
// service accounts: a key minted with one could mint or unlock more than
// its team was given, so a team grants one only when its GrantableScopes
// name it.
var ManagementScopes = []string{
	"api_keys_delete", "api_keys_read", "api_keys_write",
	"org_app_keys_read", "org_app_keys_write", "org_management",
	"service_account_write", "user_access_invite", "user_access_manage",
	"user_access_read", "user_app_keys",
}

// ParsePolicy reads and checks a policy document. Unknown fields, duplicate
// keys, invalid team names, principals that are not ARN patterns, accounts
// that are not 12 digits, and buses that are not custom event bus names or
// belong to two teams are refused, each error naming where.
func ParsePolicy(doc []byte) (*Policy, error) {
	if len(doc) > MaxPolicyBytes {
		return nil, fmt.Errorf("the access policy is %d bytes, more than %d", len(doc), MaxPolicyBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reading the access policy: %w", err)
	}
	if dec.More() {
		return nil, errors.New("reading the access policy: data after the document")
	}
	errs := []error{p.Administrators.check("administrators")}
	busTeam := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(p.Teams)) {
		t := p.Teams[name]
		if !secretkind.ValidName(name) {
			errs = append(errs, fmt.Errorf("team %q: the name %s", name, secretkind.NameRule))
		}
		errs = append(errs, t.check("teams."+name), checkAccounts("teams."+name+".consumerAccounts", t.ConsumerAccounts))
		for _, bus := range t.Buses {
			switch {
			case !awsid.IsEventBusName(bus) || bus == "default":
				errs = append(errs, fmt.Errorf("teams.%s.buses: %q is not the name of a custom event bus ([.-_A-Za-z0-9], not default)", name, bus))
			case busTeam[bus] != "":
				errs = append(errs, fmt.Errorf("teams.%s.buses: bus %q is team %s's already; a bus belongs to one team", name, bus, busTeam[bus]))
			default:
				busTeam[bus] = name
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("the access policy is invalid: %w", err)
	}
	return &p, nil
}

func (m Members) check(where string) error {
	var errs []error
	for _, p := range m.Principals {
		if !strings.HasPrefix(p, "arn:") {
			errs = append(errs, fmt.Errorf("%s.principals: %q is not an ARN pattern (arn:…)", where, p))
		}
	}
	for _, g := range m.Groups {
		if g == "" {
			errs = append(errs, fmt.Errorf("%s.groups: a group is empty", where))
		}
	}
	errs = append(errs, checkAccounts(where+".accounts", m.Accounts))
	return errors.Join(errs...)
}

// checkAccounts refuses accounts that are not 12-digit AWS account ids.
func checkAccounts(where string, accounts []string) error {
	var errs []error
	for _, a := range accounts {
		if !awsid.IsAccountID(a) {
			errs = append(errs, fmt.Errorf("%s: %q is not a 12-digit AWS account id", where, a))
		}
	}
	return errors.Join(errs...)
}

// has reports whether id is one of m.
func (m Members) has(id Identity) bool {
	switch id.Kind {
	case KindEvent:
		// An event that came through a team bus is that team's alone
		// (Team.has): the account it came from does not count.
		return id.Bus == "" && slices.Contains(m.Accounts, id.Account)
	default:
		return slices.ContainsFunc(m.Principals, func(p string) bool { return id.Principal != "" && match(p, id.Principal) }) ||
			slices.ContainsFunc(id.Groups, func(g string) bool { return slices.Contains(m.Groups, g) })
	}
}

// match reports whether s matches pattern, where '*' matches any run of
// characters (slashes included) and '?' any one.
func match(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			px = starP + 1
			starS++
			sx = starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
