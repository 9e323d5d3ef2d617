package e2e

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/deploy"
)

// policy is what template.yaml lets one function do in this stack: its
// IAM statements, with the stack's values for the template's intrinsics.
type policy struct {
	statements []deploy.Statement
	values     map[string]string
}

func policyOf(tpl *deploy.Template, functionID string, values map[string]string) (policy, error) {
	sts, err := tpl.Statements(functionID)
	if err != nil {
		return policy{}, err
	}
	return policy{statements: sts, values: values}, nil
}

// allows reports whether an Allow statement grants c: one of its actions,
// one of its resources and all of its conditions. Only the conditions the
// template puts on events:PutEvents are understood; a statement with any
// other condition grants nothing here, so an unchecked grant never passes.
// (Nothing here denies: the template has no Deny statements.)
func (p policy) allows(c Call) bool {
	arn := resourceARN(c)
	for _, st := range p.statements {
		if st.Effect != "Allow" || !slices.ContainsFunc(st.Actions, func(a string) bool { return wildcardMatch(strings.ToLower(a), strings.ToLower(c.Action)) }) {
			continue
		}
		if p.coversResource(st, arn) && conditionsHold(st.Condition, c) {
			return true
		}
	}
	return false
}

// coversResource reports whether one of the statement's resources, resolved
// for this stack, matches arn. A resource the stack has no value for (the
// log groups, the queues) matches nothing.
func (p policy) coversResource(st deploy.Statement, arn string) bool {
	for _, r := range st.Resources {
		pattern, err := resolve(r, p.values)
		if err == nil && wildcardMatch(pattern, arn) {
			return true
		}
	}
	return false
}

// resourceARN is the ARN IAM evaluates a call against. A secret named by
// its name gets an ARN without Secrets Manager's random suffix, which the
// template's patterns (ending in "*") match either way.
func resourceARN(c Call) string {
	service, _, _ := strings.Cut(c.Action, ":")
	switch {
	case c.Resource == "*" || strings.HasPrefix(c.Resource, "arn:"):
		return c.Resource
	case service == "secretsmanager":
		return "arn:aws:secretsmanager:" + Region + ":" + AccountID + ":secret:" + c.Resource
	case service == "events":
		return "arn:aws:events:" + Region + ":" + AccountID + ":event-bus/" + cmp.Or(c.Resource, "default")
	}
	return c.Resource
}

// conditionsHold evaluates the condition block of a statement for c:
// ForAllValues:StringEquals and Null on events:source, nothing else.
func conditionsHold(cond map[string]any, c Call) bool {
	for operator, block := range cond {
		keys, _ := block.(map[string]any)
		if len(keys) == 0 {
			return false
		}
		for key, want := range keys {
			if key != "events:source" {
				return false
			}
			switch operator {
			case "ForAllValues:StringEquals":
				allowed := conditionValues(want)
				if slices.ContainsFunc(c.Sources, func(s string) bool { return !slices.Contains(allowed, s) }) {
					return false
				}
			case "Null":
				// "false": the key must be present, so the call must carry sources.
				if isNull := len(c.Sources) == 0; slices.Contains(conditionValues(want), "true") != isNull {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// conditionValues reads a condition's value: a string or a list of them.
func conditionValues(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// wildcardMatch is IAM's matching of ARNs and actions: "*" matches any
// run of characters ("/" included), "?" any one character.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0 // the last "*" seen, and where its run would end
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0: // let the last "*" take one more character
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// describeCall names a call for a test failure: action, resource, and why.
func describeCall(c Call) string {
	s := c.Action + " on " + resourceARN(c)
	if c.Via != "" {
		s += " (needed by " + c.Via + ")"
	}
	if len(c.Sources) > 0 {
		s += fmt.Sprintf(" with source %q", c.Sources)
	}
	return s
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything/at:all", true},
		{"*", "", true},
		{"arn:secret:p/staging/*", "arn:secret:p/staging/x-AbCdEf", true},
		{"arn:secret:p/staging/*", "arn:secret:p/prod", false},
		{"arn:secret:p/*", "arn:secret:p/keys/c/k", true},
		{"arn:secret:p/*/k", "arn:secret:p/keys/c/k", true},
		{"arn:secret:p/*/k", "arn:secret:p/keys/c/k2", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*a*b", "xxaxxbxb", true},
		{"*a*b", "xxaxxbxc", false},
		{"arn:secret:p/*", "*", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.s, func(t *testing.T) {
			if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// TestPolicyAllows checks the evaluator against template.yaml's own
// grants: what each function may and may not do, by action, resource and
// event source.
func TestPolicyAllows(t *testing.T) {
	tpl, err := deploy.Load(filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		connection = "ddconn/connections/prod"
		staging    = "ddconn/connections/staging/prod"
		appKey     = "ddconn/connections/keys/prod/checkout"
	)
	tests := []struct {
		name, function string
		call           Call
		want           bool
	}{
		{"create reads a connection", "CreateFunction", Call{Action: "secretsmanager:GetSecretValue", Resource: connection}, true},
		{"create deletes a staging secret", "CreateFunction", Call{Action: "secretsmanager:DeleteSecret", Resource: staging}, true},
		{"create deletes a managed key by ARN", "CreateFunction", Call{Action: "secretsmanager:DeleteSecret",
			Resource: "arn:aws:secretsmanager:" + Region + ":" + AccountID + ":secret:" + appKey + "-AbCdEf"}, true},
		{"create may not delete a connection", "CreateFunction", Call{Action: "secretsmanager:DeleteSecret", Resource: connection}, false},
		{"create may not rotate a connection", "CreateFunction", Call{Action: "secretsmanager:RotateSecret", Resource: connection}, false},
		{"create may not write a connection's version", "CreateFunction", Call{Action: "secretsmanager:PutSecretValue", Resource: connection}, false},
		{"create commits a mint", "CreateFunction", Call{Action: "secretsmanager:PutSecretValue", Resource: appKey}, true},
		{"rotate deletes a connection whose recovery window ends", "RotateFunction", Call{Action: "secretsmanager:DeleteSecret", Resource: connection}, true},
		{"rotate may not delete another stack's secret", "RotateFunction", Call{Action: "secretsmanager:DeleteSecret", Resource: "other/prod"}, false},
		{"rotate rolls back a mint", "RotateFunction", Call{Action: "secretsmanager:DeleteSecret", Resource: appKey}, true},
		{"create lists secrets", "CreateFunction", Call{Action: "secretsmanager:ListSecrets", Resource: "*"}, true},
		{"validate may not list secrets", "ValidateFunction", Call{Action: "secretsmanager:ListSecrets", Resource: "*"}, false},
		{"a secret in another account", "ManageFunction", Call{Action: "secretsmanager:GetSecretValue",
			Resource: "arn:aws:secretsmanager:" + Region + ":999999999999:secret:" + connection}, false},
		{"create tags what it creates", "CreateFunction", Call{Action: "secretsmanager:TagResource", Resource: appKey, Via: "CreateSecret"}, true},
		{"create invokes the rotate function", "CreateFunction", Call{Action: "lambda:InvokeFunction", Resource: RotateFunctionARN, Via: "RotateSecret"}, true},
		{"create invokes no other function", "CreateFunction", Call{Action: "lambda:InvokeFunction", Resource: RotateFunctionARN + "x", Via: "RotateSecret"}, false},
		{"create publishes outcomes", "CreateFunction", Call{Action: "events:PutEvents", Resource: "default", Sources: []string{"ddconn"}}, true},
		{"create publishes on the bus by ARN", "CreateFunction", Call{Action: "events:PutEvents",
			Resource: "arn:aws:events:" + Region + ":" + AccountID + ":event-bus/default", Sources: []string{"ddconn"}}, true},
		{"create may not publish requests", "CreateFunction", Call{Action: "events:PutEvents", Resource: "default", Sources: []string{"ddconn.requests"}}, false},
		{"create may not publish without a source", "CreateFunction", Call{Action: "events:PutEvents", Resource: "default"}, false},
		{"create may not publish on another bus", "CreateFunction", Call{Action: "events:PutEvents", Resource: "other", Sources: []string{"ddconn"}}, false},
		{"rotate publishes outcomes", "RotateFunction", Call{Action: "events:PutEvents", Resource: "", Sources: []string{"ddconn"}}, true},
		{"manage publishes Rotation Rolled Back", "ManageFunction", Call{Action: "events:PutEvents", Resource: "default", Sources: []string{"ddconn"}}, true},
		{"manage may not publish as another source", "ManageFunction", Call{Action: "events:PutEvents", Resource: "default", Sources: []string{"acme"}}, false},
		{"a condition other than events:source grants nothing here", "CreateFunction", Call{Action: "kms:Decrypt", Resource: ConnectionKeyARN}, false},
		{"validate may not publish", "ValidateFunction", Call{Action: "events:PutEvents", Resource: "default", Sources: []string{"ddconn"}}, false},
	}
	values := StackOptions{}.values()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := policyOf(tpl, tt.function, values)
			if err != nil {
				t.Fatal(err)
			}
			if got := pol.allows(tt.call); got != tt.want {
				t.Errorf("%s allowed %s = %v, want %v", tt.function, describeCall(tt.call), got, tt.want)
			}
		})
	}
}
