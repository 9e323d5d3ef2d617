package managedkey_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// The readers below read a secret the way the consumers of
// docs/consumers.md do, each reduced to its Secrets Manager call and what
// it does with the answer.

// lambdaExtension reads DD_API_KEY_SECRET_ARN as the Datadog Lambda
// extension does (bottlecap secrets/decrypt.rs): GetSecretValue with only
// the SecretId, the SecretString as the key, trailing newlines and spaces
// removed.
func (st *stack) lambdaExtension(arn string) string {
	v := st.getSecret(arn, "")
	return strings.ReplaceAll(strings.TrimRight(v, "\n"), " ", "")
}

// forwarder reads DD_API_KEY_SECRET_ARN as the Datadog Forwarder does
// (aws/logs_monitoring/settings.py): a JSON object's "DD_API_KEY" field,
// else the whole string, stripped.
func (st *stack) forwarder(arn string) string {
	v := st.getSecret(arn, "")
	var obj map[string]any
	if json.Unmarshal([]byte(v), &obj) == nil {
		s, _ := obj["DD_API_KEY"].(string)
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(v)
}

// ecsValueFrom resolves a task definition's secrets[].valueFrom as ECS
// does: "<secret ARN>[:<json-key>:<version-stage>:<version-id>]", the
// whole string without a JSON key, else that key of the JSON object.
func (st *stack) ecsValueFrom(valueFrom string) string {
	parts := strings.Split(valueFrom, ":")
	arn := strings.Join(parts[:7], ":")
	jsonKey, stage := "", ""
	if len(parts) == 10 {
		jsonKey, stage = parts[7], parts[8]
	}
	v := st.getSecret(arn, stage)
	if jsonKey == "" {
		return v
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		st.t.Fatalf("ECS: %s is not a JSON object, so json-key %q fails the task", arn, jsonKey)
	}
	s, _ := obj[jsonKey].(string)
	return s
}

// agentSecretBackend resolves ENC[handle] as the Agent's aws.secrets
// backend does (datadog-secret-backend backend/aws/secrets.go): the
// secret_id's value decoded as a JSON object of strings, or, when it is
// not one, kept whole under "_".
func (st *stack) agentSecretBackend(secretID, handle string) string {
	v := st.getSecret(secretID, "")
	values := map[string]string{}
	if err := json.Unmarshal([]byte(v), &values); err != nil {
		values = map[string]string{"_": v}
	}
	return values[handle]
}

// externalSecret resolves an ExternalSecret's remoteRef as the External
// Secrets Operator's AWS Secrets Manager provider does: the key's
// AWSCURRENT value, whole without a property, else that JSON property.
func (st *stack) externalSecret(key, property string) string {
	v := st.getSecret(key, secretstore.Current)
	if property == "" {
		return v
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		st.t.Fatalf("External Secrets: %s is not JSON, so property %q fails", key, property)
	}
	s, _ := obj[property].(string)
	return s
}

func (st *stack) getSecret(id, stage string) string {
	st.t.Helper()
	v, err := st.store.Get(context.Background(), id, "", stage)
	if err != nil {
		st.t.Fatalf("GetSecretValue %s: %v", id, err)
	}
	return v.Value
}

// TestPlainAPIKey: a managed API key minted with format "plain" holds
// exactly the key as its secret string, through two rotations, and the
// previous key is revoked per policy (next-rotation: the key of two
// rotations back). Its key id lives in the object and the tags. The Lambda
// extension, the Forwarder and ECS read it as it is.
func TestPlainAPIKey(t *testing.T) {
	st := newStack(t)
	k, err := st.svc.MintAPIKey(context.Background(), connName, managedkey.APIKeyInput{Name: "lambda", Format: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	if k.Format != secretkind.FormatPlain {
		t.Fatalf("minted %+v, want format plain", k)
	}
	var keys []string
	check := func(when string) {
		t.Helper()
		value := st.getSecret(k.SecretARN, "")
		keys = append(keys, value)
		if len(value) != 32 || !st.validAPIKey(value) {
			t.Fatalf("%s: the secret string is not exactly a valid API key (%d characters)", when, len(value))
		}
		for name, read := range map[string]string{
			"Lambda extension": st.lambdaExtension(k.SecretARN),
			"Forwarder":        st.forwarder(k.SecretARN),
			"ECS valueFrom":    st.ecsValueFrom(k.SecretARN),
			"Agent ENC[_]":     st.agentSecretBackend(k.SecretARN, "_"),
			"External Secrets": st.externalSecret(st.describe(k.SecretARN).Name, ""),
		} {
			if read != value {
				t.Errorf("%s: %s does not read the key", when, name)
			}
		}
		got, err := st.svc.GetAPIKey(context.Background(), connName, "lambda")
		if err != nil {
			t.Fatal(err)
		}
		if got.APIKeyID == "" || got.Rotation.CurrentKeyID != got.APIKeyID || st.describe(k.SecretARN).Tags[secretkind.KeyOfTag(currentVersion(st, k.SecretARN))] != got.APIKeyID {
			t.Errorf("%s: object %+v does not name the current key's id", when, got)
		}
	}
	check("after the mint")
	st.rotate(k.SecretARN)
	check("after one rotation")
	if !st.validAPIKey(keys[0]) {
		t.Error("after one rotation the previous key no longer works (next-rotation keeps it)")
	}
	st.rotate(k.SecretARN)
	check("after two rotations")
	if st.validAPIKey(keys[0]) || !st.validAPIKey(keys[1]) {
		t.Error("after two rotations: want the first key revoked and the second still valid")
	}
	if n := len(of(st.describe(k.SecretARN).Tags, secretkind.TagKeyOfPrefix)); n != 2 {
		t.Errorf("%d key-id tags kept, want one per labelled version (AWSCURRENT, AWSPREVIOUS)", n)
	}

	// A rollback restores the previous key as the whole secret string.
	rot := rotation.New(st.store, st.dd, rotation.Options{Prefix: prefix})
	back, err := rot.Rollback(context.Background(), secretkind.Name{Kind: secretkind.APIKey, Connection: connName, Key: "lambda"})
	if err != nil {
		t.Fatal(err)
	}
	if value := st.getSecret(k.SecretARN, ""); value != keys[1] || !st.validAPIKey(value) || back.KeyID == "" {
		t.Errorf("after the rollback the secret string is not the previous, valid key (rolled back %+v)", back)
	}
}

// TestJSONAPIKeyRecipes: a managed API key in the default JSON format is
// read by field where the tools take a JSON key (ECS, the Agent, External
// Secrets), and refused by the tools that need the key alone.
func TestJSONAPIKeyRecipes(t *testing.T) {
	st := newStack(t)
	k, err := st.svc.MintAPIKey(context.Background(), connName, managedkey.APIKeyInput{Name: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	key := st.apiKeyDoc(k.SecretARN, secretstore.Current).Key
	for name, read := range map[string]string{
		"ECS valueFrom :apiKey::": st.ecsValueFrom(k.SecretARN + ":apiKey::"),
		"Agent ENC[apiKey]":       st.agentSecretBackend(k.SecretARN, "apiKey"),
		"External Secrets":        st.externalSecret(st.describe(k.SecretARN).Name, "apiKey"),
	} {
		if read != key {
			t.Errorf("%s does not read the key", name)
		}
	}
	if st.forwarder(k.SecretARN) == key || st.lambdaExtension(k.SecretARN) == key {
		t.Error("the Forwarder or the Lambda extension read the JSON document as the key: the docs say to use format plain")
	}
}

func currentVersion(st *stack, arn string) string {
	v, _ := st.describe(arn).CurrentVersion()
	return v
}

// of returns the tags whose key starts with prefix.
func of(tags map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}
