package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The only resources Secrets Manager and KMS permissions may name.
var (
	connectionSecrets = sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretPrefix}*")
	connectionKey     = getAtt("ConnectionKey", "Arn")
	viaSecretsManager = sub("secretsmanager.${AWS::Region}.amazonaws.com")
)

// listSecrets is the one Secrets Manager action AWS grants on "*" only: it
// has no resource-level permissions.
const listSecrets = "secretsmanager:ListSecrets"

// statementProblems lists what is wrong with an Allow statement that touches
// Secrets Manager or KMS.
func statementProblems(st Statement) []string {
	if st.Effect != "Allow" {
		return nil
	}
	var sm, kms bool
	var problems []string
	for _, a := range st.Actions {
		service, _, _ := strings.Cut(a, ":")
		sm = sm || service == "secretsmanager"
		kms = kms || service == "kms"
		if a == "*" || (service == "secretsmanager" || service == "kms") && strings.Contains(a, "*") {
			problems = append(problems, "wildcard action "+a)
		}
	}
	star := slices.Contains(st.Resources, any("*"))
	switch {
	case sm && kms:
		problems = append(problems, "mixes Secrets Manager and KMS actions; they need different resources")
	case sm:
		problems = append(problems, secretsManagerProblems(st, star)...)
	case kms:
		problems = append(problems, kmsProblems(st, star)...)
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
	}
	for _, r := range st.Resources {
		if !reflect.DeepEqual(r, connectionSecrets) {
			return []string{"Secrets Manager resource is not the connection-secret prefix ARN"}
		}
	}
	if len(st.Resources) == 0 {
		return []string{"no Resource"}
	}
	return nil
}

func kmsProblems(st Statement, star bool) []string {
	var problems []string
	if star || len(st.Resources) != 1 || !reflect.DeepEqual(st.Resources[0], connectionKey) {
		problems = append(problems, "KMS resource is not the connection key (!GetAtt ConnectionKey.Arn)")
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
		"kms:Decrypt", "kms:GenerateDataKey",
		"secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
		"secretsmanager:TagResource", // CreateSecret with Tags needs it
	},
	"ValidateFunction": {
		"kms:Decrypt",
		"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
		"secretsmanager:TagResource", "secretsmanager:UntagResource",
	},
	"ManageFunction": {
		"kms:Decrypt", "kms:GenerateDataKey",
		"lambda:InvokeFunction", // RotateSecret requires it of the caller
		"secretsmanager:CancelRotateSecret",
		"secretsmanager:CreateSecret", // minting a managed key
		"secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
		"secretsmanager:GetSecretValue", "secretsmanager:ListSecrets", "secretsmanager:PutSecretValue",
		"secretsmanager:RotateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource",
		"secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage",
	},
	"RotateFunction": {
		"kms:Decrypt", "kms:GenerateDataKey",
		"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:ListSecrets",
		"secretsmanager:PutSecretValue", "secretsmanager:TagResource", "secretsmanager:UntagResource",
		"secretsmanager:UpdateSecretVersionStage",
		"sqs:SendMessage", // its dead-letter queue
	},
}

func TestPermissionsAreScopedAndLeast(t *testing.T) {
	tpl := loadTemplate(t)
	for _, id := range tpl.Functions() {
		t.Run(id, func(t *testing.T) {
			sts, err := tpl.Statements(id)
			if err != nil {
				t.Fatal(err)
			}
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
				checkNarrowResources(t, id, st)
			}
			slices.Sort(actions)
			want := slices.Sorted(slices.Values(wantActions[id]))
			if !slices.Equal(actions, want) {
				t.Errorf("actions = %v\nwant      %v", actions, want)
			}
		})
	}
}

// checkNarrowResources checks the statements outside Secrets Manager and KMS:
// each names the one resource it is for.
func checkNarrowResources(t *testing.T, id string, st Statement) {
	t.Helper()
	for _, a := range st.Actions {
		var want string
		switch {
		case strings.HasPrefix(a, "lambda:"):
			want = "RotateFunction"
		case strings.HasPrefix(a, "sqs:"):
			want = "RotateDeadLetterQueue"
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
