package deploy

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/provisioning"
	"github.com/ddconn/ddconn/pkg/secretkind"
)

// The only resources Secrets Manager, KMS and EventBridge permissions may name.
var (
	connectionKey     = getAtt("ConnectionKey", "Arn")
	viaSecretsManager = sub("secretsmanager.${AWS::Region}.amazonaws.com")
	eventBus          = sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}")
)

// secretScopes are the Secrets Manager resources a statement may name, by
// what they hold. Connection names have no "/", so only "connections" (every
// secret under the prefix) reaches a connection's secret.
var secretScopes = map[string]any{
	"connections": secretsUnder(""),
	"staging":     secretsUnder(provisioning.StagingPrefix),
	"keys":        secretsUnder(secretkind.AppKey.Segment() + "/"),
	"api-keys":    secretsUnder(secretkind.APIKey.Segment() + "/"),
	"tombstones":  secretsUnder(secretkind.TombstonePrefix("")),
}

// secretsUnder is the ARN pattern of the secrets named <SecretPrefix><rest>….
func secretsUnder(rest string) map[string]any {
	return sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretPrefix}" + rest + "*")
}

// secretScope names the scope of secretScopes that r is, or returns "".
func secretScope(r any) string {
	for name, arn := range secretScopes {
		if reflect.DeepEqual(r, arn) {
			return name
		}
	}
	return ""
}

// listSecrets is the one Secrets Manager action AWS grants on "*" only: it
// has no resource-level permissions.
const listSecrets = "secretsmanager:ListSecrets"

// putEvents is the one EventBridge action a function may hold.
const putEvents = "events:PutEvents"

// scopedServices are the services whose statements statementProblems reads
// closely; a statement of any other service must still name its resource.
var scopedServices = []string{"secretsmanager", "kms", "events"}

// statementProblems lists what is wrong with an Allow statement: Secrets
// Manager, KMS and EventBridge grants must name the stack's own secrets, key
// and bus, and no statement may grant on Resource "*" except ListSecrets.
func statementProblems(st Statement) []string {
	if st.Effect != "Allow" {
		return nil
	}
	services := map[string]bool{}
	var problems []string
	for _, a := range st.Actions {
		service, _, _ := strings.Cut(a, ":")
		services[service] = true
		if a == "*" || slices.Contains(scopedServices, service) && strings.Contains(a, "*") {
			problems = append(problems, "wildcard action "+a)
		}
	}
	star := slices.Contains(st.Resources, any("*"))
	switch {
	case len(services) > 1 && slices.ContainsFunc(scopedServices, func(s string) bool { return services[s] }):
		problems = append(problems, fmt.Sprintf("mixes %s actions; each service needs its own statement and resource",
			strings.Join(slices.Sorted(maps.Keys(services)), " and ")))
	case services["secretsmanager"]:
		problems = append(problems, secretsManagerProblems(st, star)...)
	case services["kms"]:
		problems = append(problems, kmsProblems(st, star)...)
	case services["events"]:
		problems = append(problems, eventsProblems(st)...)
	case star:
		problems = append(problems, `Resource "*": name the resource the statement is for`)
	}
	return problems
}

func secretsManagerProblems(st Statement, star bool) []string {
	lists := slices.Contains(st.Actions, listSecrets)
	switch {
	case star && lists && len(st.Actions) == 1 && len(st.Resources) == 1:
		return nil // the documented exception
	case star:
		return []string{`Resource "*" with Secrets Manager actions other than ListSecrets alone`}
	case lists:
		return []string{"ListSecrets scoped to a resource grants nothing: give it its own statement on \"*\""}
	case len(st.Resources) == 0:
		return []string{"no Resource"}
	}
	var scopes []string
	for _, r := range st.Resources {
		scope := secretScope(r)
		if scope == "" {
			return []string{"Secrets Manager resource is not a SecretPrefix ARN (connections, staging/, keys/, api-keys/)"}
		}
		scopes = append(scopes, scope)
	}
	// Staging secrets hold keys no connection owns yet; their grant (read
	// and delete) must not spill onto any other secret.
	staging := slices.Contains(scopes, "staging")
	switch {
	case staging && len(scopes) > 1:
		return []string{"staging secrets share a statement with other secrets: keep it to <prefix>staging/*"}
	case !staging && strings.HasPrefix(st.Sid, "Staging"):
		return []string{"statement " + st.Sid + " leaves the staging secrets (<prefix>staging/*)"}
	}
	return nil
}

// eventsProblems checks an EventBridge statement: PutEvents only, on the
// stack's bus only, for entries whose source is ddconn's outcome source only.
// PutEvents sets events:source to the Source of each entry, so the condition
// is a set test (ForAllValues), and Null "false" refuses a request without
// any, which ForAllValues alone would let through.
func eventsProblems(st Statement) []string {
	var problems []string
	for _, a := range st.Actions {
		if a != putEvents {
			problems = append(problems, "EventBridge action "+a+" is not "+putEvents)
		}
	}
	if len(st.Resources) != 1 || !reflect.DeepEqual(st.Resources[0], eventBus) {
		problems = append(problems, "PutEvents resource is not the EventBusName bus ARN")
	}
	source := asList(asMap(st.Condition["ForAllValues:StringEquals"])["events:source"])
	if !reflect.DeepEqual(source, []any{provisioning.OutcomeSource}) {
		problems = append(problems, fmt.Sprintf("PutEvents is not limited to source %q (ForAllValues:StringEquals events:source)", provisioning.OutcomeSource))
	}
	if asMap(st.Condition["Null"])["events:source"] != "false" {
		problems = append(problems, `PutEvents does not require a source (Null events:source "false")`)
	}
	return problems
}

// kmsProblems checks a KMS statement: on the connection key only, either
// Decrypt and GenerateDataKey through Secrets Manager, or the readers'
// grants (grantProblems).
func kmsProblems(st Statement, star bool) []string {
	var problems []string
	if star || len(st.Resources) != 1 || !reflect.DeepEqual(st.Resources[0], connectionKey) {
		problems = append(problems, "KMS resource is not the connection key (!GetAtt ConnectionKey.Arn)")
	}
	if slices.ContainsFunc(st.Actions, func(a string) bool { return slices.Contains(grantActions, a) }) {
		return append(problems, grantProblems(st)...)
	}
	for _, a := range st.Actions {
		if a != "kms:Decrypt" && a != "kms:GenerateDataKey" {
			problems = append(problems, "KMS action "+a+" is not one Secrets Manager uses for its callers")
		}
	}
	if via := asMap(st.Condition["StringEquals"])["kms:ViaService"]; !reflect.DeepEqual(via, viaSecretsManager) {
		problems = append(problems, "KMS use is not limited to Secrets Manager (kms:ViaService)")
	}
	return problems
}

// grantActions are the KMS grant actions a function may hold: creating a
// reader's grant, and finding and revoking a former reader's.
var grantActions = []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}

// managedKeySecrets are the ARN patterns of the managed keys' secrets, the
// only secrets a grant may be for.
var managedKeySecrets = []any{secretScopes["keys"], secretScopes["api-keys"]}

// grantProblems checks a statement of grant actions: CreateGrant alone,
// for Decrypt only (kms:GrantOperations, present), constrained to an
// encryption context subset whose SecretARN is a managed key's secret; or
// ListGrants and RevokeGrant, which take no condition naming a grant.
func grantProblems(st Statement) []string {
	var problems []string
	creates := slices.Contains(st.Actions, "kms:CreateGrant")
	for _, a := range st.Actions {
		if !slices.Contains(grantActions, a) {
			problems = append(problems, "KMS action "+a+" shares a statement with grant actions")
		}
		if creates && a != "kms:CreateGrant" {
			problems = append(problems, "kms:CreateGrant shares its statement (and its conditions) with "+a)
		}
	}
	if !creates {
		return problems
	}
	if ops := asList(asMap(st.Condition["ForAllValues:StringEquals"])["kms:GrantOperations"]); !reflect.DeepEqual(ops, []any{"Decrypt"}) {
		problems = append(problems, "CreateGrant is not limited to Decrypt (ForAllValues:StringEquals kms:GrantOperations)")
	}
	if asMap(st.Condition["Null"])["kms:GrantOperations"] != "false" {
		problems = append(problems, `CreateGrant does not require its operations (Null kms:GrantOperations "false")`)
	}
	if asMap(st.Condition["StringEquals"])["kms:GrantConstraintType"] != "EncryptionContextSubset" {
		problems = append(problems, "CreateGrant does not require an encryption context constraint (kms:GrantConstraintType)")
	}
	if arns := asList(asMap(st.Condition["StringLike"])["kms:EncryptionContext:SecretARN"]); !reflect.DeepEqual(arns, managedKeySecrets) {
		problems = append(problems, "CreateGrant is not limited to managed keys' secrets (StringLike kms:EncryptionContext:SecretARN)")
	}
	return problems
}

func TestStatementProblems(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "statements.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	cases := asList(doc["cases"])
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/statements.yaml")
	}
	for _, raw := range cases {
		c := asMap(raw)
		name, _ := c["name"].(string)
		want, _ := c["problem"].(string)
		t.Run(name, func(t *testing.T) {
			sts := ParseStatements(map[string]any{"Statement": []any{c["statement"]}})
			got := strings.Join(statementProblems(sts[0]), "; ")
			switch {
			case want == "" && got != "":
				t.Errorf("problems = %q, want none", got)
			case want != "" && !strings.Contains(got, want):
				t.Errorf("problems = %q, want one containing %q", got, want)
			}
		})
	}
}

// wantActions is what each function calls, and so all it may do, apart from
// writing its logs. Keep it in step with the code: the e2e tests record the
// Secrets Manager operations each binary really sends.
var wantActions = map[string][]string{
	"CreateFunction": {
		"events:PutEvents", // outcome events
		"kms:Decrypt", "kms:GenerateDataKey",
		"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", // a managed key's readers
		"lambda:InvokeFunction", // RotateSecret (a new managed key) requires it of the caller
		"secretsmanager:CreateSecret",
		"secretsmanager:DeleteSecret", // staging secrets, "Delete Managed Key"
		"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:ListSecrets",
		"secretsmanager:RotateSecret",
		"secretsmanager:PutSecretValue", // a mint's commit
		"secretsmanager:TagResource",    // CreateSecret with Tags; a minted key's id; a key with readers
		// A managed key's readers: its resource policy, and the tag that
		// records them, removed with them.
		"secretsmanager:PutResourcePolicy", "secretsmanager:GetResourcePolicy", "secretsmanager:DeleteResourcePolicy",
		"secretsmanager:UntagResource",
		"sqs:SendMessage", // its dead-letter queue
	},
	"ValidateFunction": {
		"kms:Decrypt",
		"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
		"secretsmanager:TagResource", "secretsmanager:UntagResource",
	},
	"ManageFunction": {
		"events:PutEvents", // "Rotation Rolled Back"
		"kms:Decrypt", "kms:GenerateDataKey",
		"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", // a managed key's readers
		"lambda:InvokeFunction", // RotateSecret requires it of the caller
		"secretsmanager:CancelRotateSecret",
		"secretsmanager:CreateSecret", // minting a managed key
		"secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
		"secretsmanager:GetSecretValue", "secretsmanager:ListSecrets", "secretsmanager:PutSecretValue",
		"secretsmanager:RestoreSecret", // forcing a scheduled deletion settles the keys first
		"secretsmanager:RotateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource",
		"secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage",
		"secretsmanager:PutResourcePolicy", "secretsmanager:GetResourcePolicy", "secretsmanager:DeleteResourcePolicy", // readers
	},
	"RotateFunction": {
		"events:PutEvents", // "Rotation Failed"
		"kms:Decrypt", "kms:GenerateDataKey",
		"secretsmanager:DeleteSecret", // abandoned mints, expired tombstones, connections whose recovery window ends
		"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:ListSecrets",
		"secretsmanager:PutSecretValue",
		"secretsmanager:RestoreSecret", // to revoke the keys of a connection whose recovery window ends
		"secretsmanager:TagResource", "secretsmanager:UntagResource",
		"secretsmanager:UpdateSecretVersionStage",
		"sqs:SendMessage", // its dead-letter queue
	},
}

func TestPermissionsAreScopedAndLeast(t *testing.T) {
	tpl := loadTemplate(t)
	forEachFunction(t, tpl, func(t *testing.T, id string, sts []Statement) {
		if len(sts) == 0 {
			t.Fatal("no policy statements found for the function")
		}
		var actions []string
		for _, st := range sts {
			for _, p := range statementProblems(st) {
				t.Errorf("statement %q: %s", st.Sid, p)
			}
			for _, a := range st.Actions {
				if !strings.HasPrefix(a, "logs:") && !slices.Contains(actions, a) {
					actions = append(actions, a)
				}
			}
			checkNarrowResources(t, tpl, id, st)
		}
		slices.Sort(actions)
		want := slices.Sorted(slices.Values(wantActions[id]))
		if !slices.Equal(actions, want) {
			t.Errorf("actions = %v\nwant      %v", actions, want)
		}
	})
}

// checkNarrowResources checks the statements outside Secrets Manager, KMS
// and EventBridge: each names the one resource it is for.
func checkNarrowResources(t *testing.T, tpl *Template, id string, st Statement) {
	t.Helper()
	for _, a := range st.Actions {
		var want string
		switch {
		case strings.HasPrefix(a, "lambda:"):
			want = "RotateFunction"
		case strings.HasPrefix(a, "sqs:"):
			want = deadLetterQueueOf(tpl, id)
		case strings.HasPrefix(a, "logs:"):
			want = id + "LogGroup"
		default:
			continue
		}
		for _, r := range st.Resources {
			if target := resourceNamed(r); target != want {
				t.Errorf("statement %q: %s on %#v, want only %s", st.Sid, a, r, want)
			}
		}
	}
}

// deadLetterQueueOf is the queue named by a function's DeadLetterQueue, or
// a placeholder no resource has when it has none.
func deadLetterQueueOf(tpl *Template, id string) string {
	if q := refTarget(asMap(tpl.FunctionProperties(id)["DeadLetterQueue"])["TargetArn"]); q != "" {
		return q
	}
	return "(no dead-letter queue)"
}

// wantSecretScopes says which secrets (secretScopes; "*" for ListSecrets)
// each Secrets Manager action of a function reaches. An action not listed
// reaches the connections prefix (ListSecrets "*").
var wantSecretScopes = map[string]map[string][]string{
	"CreateFunction": {
		"secretsmanager:CreateSecret":   {"connections"}, // connections and managed keys alike
		"secretsmanager:TagResource":    {"connections"},
		"secretsmanager:PutSecretValue": {"api-keys", "keys"}, // a mint's commit, never a connection's
		"secretsmanager:DescribeSecret": {"connections", "staging"},
		"secretsmanager:GetSecretValue": {"connections", "staging"},
		"secretsmanager:DeleteSecret":   {"api-keys", "keys", "staging"}, // never a connection's secret
		"secretsmanager:RotateSecret":   {"api-keys", "keys"},
		// A managed key's readers, never a connection's secret's.
		"secretsmanager:PutResourcePolicy":    {"api-keys", "keys"},
		"secretsmanager:GetResourcePolicy":    {"api-keys", "keys"},
		"secretsmanager:DeleteResourcePolicy": {"api-keys", "keys"},
		"secretsmanager:UntagResource":        {"api-keys", "keys"},
		listSecrets:                           {"*"},
	},
	"ManageFunction": {
		"secretsmanager:PutResourcePolicy":    {"api-keys", "keys"},
		"secretsmanager:GetResourcePolicy":    {"api-keys", "keys"},
		"secretsmanager:DeleteResourcePolicy": {"api-keys", "keys"},
	},
	"RotateFunction": {
		"secretsmanager:DeleteSecret":             {"connections"}, // see SweptSecrets
		"secretsmanager:RestoreSecret":            {"connections"},
		"secretsmanager:DescribeSecret":           {"connections"},
		"secretsmanager:GetSecretValue":           {"connections"},
		"secretsmanager:PutSecretValue":           {"connections"},
		"secretsmanager:TagResource":              {"connections"},
		"secretsmanager:UntagResource":            {"connections"},
		"secretsmanager:UpdateSecretVersionStage": {"connections"},
		listSecrets: {"*"},
	},
}

// TestSecretsManagerActionsReachOnlyTheirSecrets checks, action by action,
// which secrets each function's grants reach: the create function may
// delete staging and managed-key secrets, never a connection's.
func TestSecretsManagerActionsReachOnlyTheirSecrets(t *testing.T) {
	forEachFunction(t, loadTemplate(t), func(t *testing.T, id string, sts []Statement) {
		got := secretGrants(sts)
		want := map[string][]string{}
		for _, a := range wantActions[id] {
			switch {
			case wantSecretScopes[id][a] != nil:
				want[a] = wantSecretScopes[id][a]
			case a == listSecrets:
				want[a] = []string{"*"}
			case strings.HasPrefix(a, "secretsmanager:"):
				want[a] = []string{"connections"}
			}
		}
		for _, a := range slices.Sorted(maps.Keys(want)) {
			if w := slices.Sorted(slices.Values(want[a])); !slices.Equal(got[a], w) {
				t.Errorf("%s reaches %v, want %v", a, got[a], w)
			}
		}
		for a, scopes := range got {
			if _, ok := want[a]; !ok {
				t.Errorf("%s is granted on %v, want not at all", a, scopes)
			}
		}
	})
}

// secretGrants maps each Secrets Manager action of the Allow statements to
// the scopes it is granted on, sorted; "?" is a resource of no scope.
func secretGrants(sts []Statement) map[string][]string {
	got := map[string][]string{}
	for _, st := range sts {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Actions {
			if !strings.HasPrefix(a, "secretsmanager:") {
				continue
			}
			for _, r := range st.Resources {
				scope := secretScope(r)
				switch {
				case r == "*":
					scope = "*"
				case scope == "":
					scope = "?"
				}
				if !slices.Contains(got[a], scope) {
					got[a] = append(got[a], scope)
				}
			}
			slices.Sort(got[a])
		}
	}
	return got
}

// publishers are the functions that publish events: the create function
// (provisioning outcomes), the manage function ("Rotation Rolled Back")
// and the rotate function ("Rotation Failed", "Key Rotated", …).
var publishers = []string{"CreateFunction", "ManageFunction", "RotateFunction"}

func TestOnlyPublishersPublishEvents(t *testing.T) {
	forEachFunction(t, loadTemplate(t), func(t *testing.T, id string, sts []Statement) {
		var grants int
		for _, st := range sts {
			if st.Effect != "Allow" || !slices.ContainsFunc(st.Actions, func(a string) bool {
				return a == putEvents || a == "*" || strings.HasPrefix(a, "events:") && strings.Contains(a, "*")
			}) {
				continue
			}
			grants++
			if !slices.Contains(publishers, id) {
				t.Errorf("statement %q lets %s publish events; only %v may", st.Sid, id, publishers)
			}
			for _, p := range eventsProblems(st) {
				t.Errorf("statement %q: %s", st.Sid, p)
			}
		}
		if slices.Contains(publishers, id) && grants == 0 {
			t.Errorf("%s may not publish its events: no %s grant", id, putEvents)
		}
	})
}

// resourceNamed returns the resource an ARN expression points at: a GetAtt
// target, or the resource in a "${Res.Arn}…" substitution.
func resourceNamed(v any) string {
	if target := refTarget(v); target != "" {
		return target
	}
	s, _ := asMap(v)["Fn::Sub"].(string)
	if rest, ok := strings.CutPrefix(s, "${"); ok {
		res, _, _ := strings.Cut(rest, ".")
		return res
	}
	return ""
}

func TestKeyPolicyScopesUseToTheFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	key := tpl.Resources["ConnectionKey"]
	if key.Type != "AWS::KMS::Key" {
		t.Fatalf("ConnectionKey is %q, want AWS::KMS::Key", key.Type)
	}
	if key.Properties["EnableKeyRotation"] != true {
		t.Error("ConnectionKey.EnableKeyRotation must be true")
	}
	root := sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
	roles := map[string]bool{}
	for _, raw := range asList(asMap(key.Properties["KeyPolicy"])["Statement"]) {
		m := asMap(raw)
		principals := asList(asMap(m["Principal"])["AWS"])
		if len(principals) == 1 && reflect.DeepEqual(principals[0], root) {
			continue // the account administers the key and delegates to IAM
		}
		st := ParseStatements(map[string]any{"Statement": []any{raw}})[0]
		st.Resources = []any{connectionKey} // in a key policy "*" is the key itself
		for _, p := range kmsProblems(st, false) {
			t.Errorf("key policy statement %q: %s", st.Sid, p)
		}
		for _, p := range principals {
			roles[refTarget(p)] = true
		}
	}
	for _, id := range tpl.Functions() {
		if role := refTarget(tpl.FunctionProperties(id)["Role"]); !roles[role] {
			t.Errorf("key policy does not let %s (%s) use the key through Secrets Manager", id, role)
		}
	}
}

// forEachFunction runs check, as a subtest named by the function, on each
// function's policy statements.
func forEachFunction(t *testing.T, tpl *Template, check func(t *testing.T, id string, sts []Statement)) {
	for _, id := range tpl.Functions() {
		t.Run(id, func(t *testing.T) {
			sts, err := tpl.Statements(id)
			if err != nil {
				t.Fatal(err)
			}
			check(t, id, sts)
		})
	}
}
