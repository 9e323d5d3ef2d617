package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The kinds of Identity.
const (
	KindIAM   = "iam"
	KindJWT   = "jwt"
	KindEvent = "event"
	// KindAnonymous is a request with no authorizer's identity: an API
	// deployed without authorization.
	KindAnonymous = "anonymous"
	// KindLocalAdmin is a request to `make dev` that names no caller: an
	// administrator. Only the dev server gives it; the Lambda functions
	// never do.
	KindLocalAdmin = "local-admin"
)

// Identity is who a request or an event says it comes from.
type Identity struct {
	Kind string `json:"kind"`
	// Principal is an IAM caller's principal ARN (an assumed-role
	// session's role ARN: NormalizePrincipal), or a JWT's subject.
	Principal string `json:"principal,omitempty"`
	// Session is an assumed-role session's name, for the record.
	Session string `json:"session,omitempty"`
	// Account is an IAM caller's account, or the account an event came from.
	Account string `json:"account,omitempty"`
	// Bus is the team bus an event came through (the name of a custom bus
	// in ddconn's account and region), or "" for the stack's own bus.
	Bus string `json:"bus,omitempty"`
	// Groups are a JWT's groups.
	Groups []string `json:"groups,omitempty"`
}

// NormalizePrincipal returns the principal a policy matches for the IAM
// caller arn, and the session name of an assumed-role session:
// arn:aws:sts::<account>:assumed-role/<role>/<session> is matched as
// arn:aws:iam::<account>:role/<role>.
func NormalizePrincipal(arn string) (principal, session string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" {
		return arn, ""
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return arn, ""
	}
	role, session, _ := strings.Cut(rest, "/")
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role, session
}

// Caller is an Identity resolved against the policy.
type Caller struct {
	Identity
	// Admin is true for an administrator, and for every caller when no
	// policy is configured.
	Admin bool `json:"admin"`
	// Teams are the teams the caller belongs to, sorted.
	Teams  []string `json:"teams,omitempty"`
	policy *Policy
}

// Resolve maps id to a Caller under p; a nil p makes every caller an
// administrator.
func Resolve(p *Policy, id Identity) Caller {
	c := Caller{Identity: id, policy: p}
	if p == nil || id.Kind == KindLocalAdmin {
		c.Admin = true
		return c
	}
	c.Admin = p.Administrators.has(id)
	for name, t := range p.Teams {
		if t.has(id) {
			c.Teams = append(c.Teams, name)
		}
	}
	slices.Sort(c.Teams)
	return c
}

// Sees reports whether c may see and use a connection of team ("" for a
// connection with no team, which only administrators see).
func (c Caller) Sees(team string) bool {
	return c.Admin || team != "" && slices.Contains(c.Teams, team)
}

// ErrForbidden is the kind of a Refusal: an action the caller may not take
// on a connection it sees.
var ErrForbidden = errors.New("forbidden")

// Refusal is the error of a refused action; Why is safe to show the caller.
type Refusal struct{ Why string }

func (r *Refusal) Error() string { return "forbidden: " + r.Why }

// Is makes a Refusal ErrForbidden.
func (r *Refusal) Is(target error) bool { return target == ErrForbidden }

// Forbidden returns the Refusal why.
func Forbidden(why string) error { return &Refusal{Why: why} }

// CheckAdmin refuses a caller that is not an administrator; action says
// what was refused.
func (c Caller) CheckAdmin(action string) error {
	if c.Admin {
		return nil
	}
	return Forbidden(action + " needs an administrator of the access policy")
}

// CheckGrant refuses to mint, for a connection of team, a key with scopes
// (unscoped: none at all) the team may not grant: unscoped keys are for
// administrators; other scopes must be among the team's GrantableScopes,
// or, when it has none, outside ManagementScopes. Administrators, and
// everyone without a policy, may grant anything.
func (c Caller) CheckGrant(team string, scopes []string, unscoped bool) error {
	if c.policy == nil || c.Admin {
		return nil
	}
	if unscoped {
		return c.CheckAdmin("minting an unscoped key")
	}
	t := c.policy.Teams[team]
	for _, s := range scopes {
		if t.GrantableScopes != nil && !slices.Contains(t.GrantableScopes, s) {
			return Forbidden(fmt.Sprintf("team %q may not grant scope %q (its grantableScopes in the access policy do not list it)", team, s))
		}
		if t.GrantableScopes == nil && slices.Contains(ManagementScopes, s) {
			return Forbidden(fmt.Sprintf("scope %q manages keys or users; team %q may grant it only if the access policy lists it in the team's grantableScopes", s, team))
		}
	}
	return nil
}

// CheckReaders refuses to let a managed key of a connection of team be read
// from accounts the team may not name: each must be among the team's
// ConsumerAccounts (by default its Accounts). Administrators, and everyone
// without a policy, may name any account.
func (c Caller) CheckReaders(team string, accounts []string) error {
	if c.policy == nil || c.Admin {
		return nil
	}
	allowed := c.policy.Teams[team].consumerAccounts()
	for _, a := range accounts {
		if !slices.Contains(allowed, a) {
			return Forbidden(fmt.Sprintf("team %q may not name readers in account %s (the access policy lists the accounts it may in the team's consumerAccounts, or else accounts)", team, a))
		}
	}
	return nil
}

type callerKey struct{}

// WithCaller returns a context carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of ctx; ok is false for ddconn's own work,
// which carries none.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Sees reports whether the caller of ctx sees a connection of team;
// ddconn's own work sees everything.
func Sees(ctx context.Context, team string) bool {
	c, ok := CallerFrom(ctx)
	return !ok || c.Sees(team)
}

// CheckAdmin is Caller.CheckAdmin for the caller of ctx; ddconn's own
// work passes.
func CheckAdmin(ctx context.Context, action string) error {
	c, ok := CallerFrom(ctx)
	if !ok {
		return nil
	}
	return c.CheckAdmin(action)
}

// CheckGrant is Caller.CheckGrant for the caller of ctx; ddconn's own
// work passes.
func CheckGrant(ctx context.Context, team string, scopes []string, unscoped bool) error {
	c, ok := CallerFrom(ctx)
	if !ok {
		return nil
	}
	return c.CheckGrant(team, scopes, unscoped)
}

// CheckReaders is Caller.CheckReaders for the caller of ctx; ddconn's own
// work passes.
func CheckReaders(ctx context.Context, team string, accounts []string) error {
	c, ok := CallerFrom(ctx)
	if !ok {
		return nil
	}
	return c.CheckReaders(team, accounts)
}

// CheckMember refuses, for a connection to be created in team (or moved
// to it), a team the policy lacks and a caller that is neither an
// administrator nor a member of team; only administrators may leave the
// team empty. Without a policy, or for ddconn's own work, any team (or
// none) is allowed.
func CheckMember(ctx context.Context, team string) error {
	c, ok := CallerFrom(ctx)
	if !ok || c.policy == nil {
		return nil
	}
	switch _, known := c.policy.Teams[team]; {
	case team == "" && c.Admin:
		return nil
	case team == "":
		return Forbidden("name the team the connection belongs to (team); yours: " + strings.Join(c.Teams, ", "))
	case !known:
		return Forbidden(fmt.Sprintf("the access policy has no team %q", team))
	case !c.Sees(team):
		return Forbidden(fmt.Sprintf("you are not a member of team %q", team))
	}
	return nil
}
