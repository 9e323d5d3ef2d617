package access

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const policyDoc = `{
  "administrators": {"principals": ["arn:aws:iam::111111111111:role/platform-*"], "groups": ["platform"], "accounts": ["999999999999"]},
  "teams": {
    "team-a": {"principals": ["arn:aws:iam::111111111111:role/team-a-*"], "groups": ["team-a"], "accounts": ["222222222222"],
               "buses": ["team-a-requests"]},
    "team-b": {"principals": ["arn:aws:iam::333333333333:user/bob"], "groups": ["team-b"], "grantableScopes": ["metrics_read", "user_app_keys"],
               "consumerAccounts": ["444444444444"]}
  }
}`

func mustPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(policyDoc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iam::1:role/team-a-*", "arn:aws:iam::1:role/team-a-ci", true},
		{"arn:aws:iam::1:role/team-a-*", "arn:aws:iam::1:role/team-b-ci", false},
		{"arn:aws:iam::1:role/*", "arn:aws:iam::1:role/path/deep", true},
		{"arn:aws:iam::?:user/bob", "arn:aws:iam::1:user/bob", true},
		{"arn:aws:iam::?:user/bob", "arn:aws:iam::12:user/bob", false},
		{"arn:aws:iam::1:user/bob", "arn:aws:iam::1:user/bobby", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestNormalizePrincipal(t *testing.T) {
	tests := []struct{ arn, principal, session string }{
		{"arn:aws:sts::111111111111:assumed-role/team-a-ci/build-42", "arn:aws:iam::111111111111:role/team-a-ci", "build-42"},
		{"arn:aws:iam::111111111111:user/bob", "arn:aws:iam::111111111111:user/bob", ""},
		{"arn:aws-us-gov:sts::111111111111:assumed-role/r/s", "arn:aws-us-gov:iam::111111111111:role/r", "s"},
		{"not an arn", "not an arn", ""},
	}
	for _, tt := range tests {
		p, s := NormalizePrincipal(tt.arn)
		if p != tt.principal || s != tt.session {
			t.Errorf("NormalizePrincipal(%q) = %q, %q; want %q, %q", tt.arn, p, s, tt.principal, tt.session)
		}
	}
}

func TestResolve(t *testing.T) {
	p := mustPolicy(t)
	tests := []struct {
		name  string
		id    Identity
		admin bool
		teams string
	}{
		{"team role", Identity{Kind: KindIAM, Principal: "arn:aws:iam::111111111111:role/team-a-ci"}, false, "team-a"},
		{"platform role", Identity{Kind: KindIAM, Principal: "arn:aws:iam::111111111111:role/platform-ops"}, true, ""},
		{"unmapped role", Identity{Kind: KindIAM, Principal: "arn:aws:iam::111111111111:role/other"}, false, ""},
		{"jwt groups", Identity{Kind: KindJWT, Principal: "u-1", Groups: []string{"team-b", "team-a"}}, false, "team-a,team-b"},
		{"jwt admin group", Identity{Kind: KindJWT, Principal: "u-2", Groups: []string{"platform"}}, true, ""},
		{"event of a team account", Identity{Kind: KindEvent, Account: "222222222222"}, false, "team-a"},
		{"event of an admin account", Identity{Kind: KindEvent, Account: "999999999999"}, true, ""},
		{"event's account is not a principal", Identity{Kind: KindEvent, Account: "111111111111"}, false, ""},
		{"an IAM caller is not matched by account", Identity{Kind: KindIAM, Principal: "arn:aws:iam::222222222222:role/x", Account: "222222222222"}, false, ""},
		{"event through a team bus", Identity{Kind: KindEvent, Account: "555555555555", Bus: "team-a-requests"}, false, "team-a"},
		{"a team bus is attributed by the bus alone", Identity{Kind: KindEvent, Account: "999999999999", Bus: "team-a-requests"}, false, "team-a"},
		{"an unmapped bus maps to no one", Identity{Kind: KindEvent, Account: "222222222222", Bus: "other-requests"}, false, ""},
		{"a bus is not a principal", Identity{Kind: KindIAM, Principal: "arn:aws:iam::111111111111:role/x", Bus: "team-a-requests"}, false, ""},
		{"anonymous", Identity{Kind: KindAnonymous}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Resolve(p, tt.id)
			if c.Admin != tt.admin || strings.Join(c.Teams, ",") != tt.teams {
				t.Errorf("Resolve = admin %v teams %v, want %v %q", c.Admin, c.Teams, tt.admin, tt.teams)
			}
		})
	}
	if c := Resolve(nil, Identity{Kind: KindAnonymous}); !c.Admin {
		t.Error("without a policy a caller is not an administrator")
	}
}

func TestDecisions(t *testing.T) {
	p := mustPolicy(t)
	a := Resolve(p, Identity{Kind: KindJWT, Groups: []string{"team-a"}})
	b := Resolve(p, Identity{Kind: KindJWT, Groups: []string{"team-b"}})
	admin := Resolve(p, Identity{Kind: KindJWT, Groups: []string{"platform"}})
	if !a.Sees("team-a") || a.Sees("team-b") || a.Sees("") || !admin.Sees("") || !admin.Sees("team-b") {
		t.Error("Sees is wrong")
	}
	grants := []struct {
		c        Caller
		team     string
		scopes   []string
		unscoped bool
		ok       bool
	}{
		{a, "team-a", []string{"metrics_read"}, false, true},
		{a, "team-a", []string{"metrics_read", "user_app_keys"}, false, false}, // a management scope by default
		{a, "team-a", nil, true, false},                                        // unscoped: administrators only
		{b, "team-b", []string{"user_app_keys"}, false, true},                  // listed in grantableScopes
		{b, "team-b", []string{"logs_read_data"}, false, false},                // not listed
		{admin, "team-a", nil, true, true},
		{Resolve(nil, Identity{}), "", []string{"user_app_keys"}, false, true}, // no policy
	}
	for i, g := range grants {
		err := g.c.CheckGrant(g.team, g.scopes, g.unscoped)
		if (err == nil) != g.ok || err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("grant %d: %v, want ok %v", i, err, g.ok)
		}
	}
	ctx := WithCaller(context.Background(), a)
	for _, tt := range []struct {
		team string
		ok   bool
	}{{"team-a", true}, {"team-b", false}, {"", false}, {"team-z", false}} {
		if err := CheckMember(ctx, tt.team); (err == nil) != tt.ok {
			t.Errorf("CheckMember(%q) = %v, want ok %v", tt.team, err, tt.ok)
		}
	}
	if err := CheckMember(WithCaller(context.Background(), admin), ""); err != nil {
		t.Errorf("an administrator may create a connection with no team: %v", err)
	}
	if err := CheckMember(context.Background(), ""); err != nil || !Sees(context.Background(), "") {
		t.Error("ddconn's own work is restricted")
	}
}

func TestCheckReaders(t *testing.T) {
	p := mustPolicy(t)
	a := Resolve(p, Identity{Kind: KindJWT, Groups: []string{"team-a"}})
	b := Resolve(p, Identity{Kind: KindJWT, Groups: []string{"team-b"}})
	admin := Resolve(p, Identity{Kind: KindJWT, Groups: []string{"platform"}})
	tests := []struct {
		name     string
		c        Caller
		team     string
		accounts []string
		ok       bool
	}{
		{"a team's own account by default", a, "team-a", []string{"222222222222"}, true},
		{"another account", a, "team-a", []string{"222222222222", "444444444444"}, false},
		{"consumerAccounts replace accounts", b, "team-b", []string{"444444444444"}, true},
		{"not in consumerAccounts", b, "team-b", []string{"333333333333"}, false},
		{"no readers", a, "team-a", nil, true},
		{"an administrator names any", admin, "team-a", []string{"555555555555"}, true},
		{"no policy", Resolve(nil, Identity{}), "", []string{"555555555555"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckReaders(WithCaller(context.Background(), tt.c), tt.team, tt.accounts)
			if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrForbidden) {
				t.Fatalf("CheckReaders = %v, want ok %v", err, tt.ok)
			}
		})
	}
	if err := CheckReaders(context.Background(), "team-a", []string{"555555555555"}); err != nil {
		t.Errorf("ddconn's own work is restricted: %v", err)
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	for _, doc := range []string{
		`{"teams": {"Team A": {}}}`,
		`{"teams": {"a": {"principals": ["team-a-role"]}}}`,
		`{"teams": {"a": {"accounts": ["1234"]}}}`,
		`{"teams": {"a": {"consumerAccounts": ["arn:aws:iam::222222222222:root"]}}}`,
		`{"teams": {"a": {"groups": [""]}}}`,
		`{"teams": {"a": {"buses": ["team/a"]}}}`,
		`{"teams": {"a": {"buses": [""]}}}`,
		`{"teams": {"a": {"buses": ["default"]}}}`,
		`{"teams": {"a": {"buses": ["shared"]}, "b": {"buses": ["shared"]}}}`,
		`{"administrators": {"buses": ["platform"]}, "teams": {}}`,
		`{"teams": {}, "admins": {}}`,
		`{"teams": {}} {}`,
		`[]`,
	} {
		if _, err := ParsePolicy([]byte(doc)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", doc)
		}
	}
}

func TestCachedRefreshes(t *testing.T) {
	now := time.Unix(0, 0)
	reads := 0
	doc := `{"teams": {"a": {}}}`
	c := &Cached{Read: func(context.Context) ([]byte, error) { reads++; return []byte(doc), nil }, Refresh: time.Minute,
		Now: func() time.Time { return now }}
	for range 3 {
		if _, err := c.Policy(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	doc = `{"teams": {"b": {}}}`
	now = now.Add(time.Minute)
	p, err := c.Policy(context.Background())
	if err != nil || reads != 2 || p.Teams["b"].Members.Principals != nil || len(p.Teams) != 1 {
		t.Fatalf("after the refresh: %v, %d reads, teams %v", err, reads, p.Teams)
	}
	c.Read = func(context.Context) ([]byte, error) { return nil, errors.New("unreachable") }
	now = now.Add(time.Minute)
	if _, err := c.Policy(context.Background()); err == nil {
		t.Fatal("a failed read answered with the stale policy")
	}
}
