package managedkey_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
)

// apiKeyDoc reads a managed API key's document of the version labelled stage.
func (st *stack) apiKeyDoc(arn, stage string) secretkind.Document {
	st.t.Helper()
	v, err := st.store.Get(context.Background(), arn, "", stage)
	if err != nil {
		st.t.Fatalf("reading %s: %v", stage, err)
	}
	d, err := secretkind.APIKey.Parse(v.Value)
	if err != nil {
		st.t.Fatal(err)
	}
	return d
}

// validAPIKey reports whether Datadog accepts the API key (/api/v1/validate).
func (st *stack) validAPIKey(key string) bool {
	s, err := site.Parse(siteURL)
	if err != nil {
		st.t.Fatal(err)
	}
	return st.dd.ValidateAPIKey(context.Background(), datadog.Credentials{Site: s, APIKey: key}) == nil
}

// TestAPIKeyLifecycle mints a managed API key, rotates it three times, and
// checks the two-key alternation: after each rotation the current and the
// previous key are valid, and the key from two rotations back is deleted.
// Deleting the managed key deletes its keys, never the connection's.
func TestAPIKeyLifecycle(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	k, err := st.svc.MintAPIKey(ctx, connName, managedkey.APIKeyInput{Name: "agent-us5",
		Rotation: managedkey.RotationInput{Schedule: "rate(90 days)"}})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	if k.SecretName != prefix+"api-keys/"+connName+"/agent-us5" || !k.Rotation.Enabled || k.Rotation.Schedule != "rate(90 days)" {
		t.Fatalf("minted %+v", k)
	}
	docs := []secretkind.Document{st.apiKeyDoc(k.SecretARN, secretstore.Current)}
	if !st.validAPIKey(docs[0].Key) || docs[0].URL != siteURL || k.APIKeyID != docs[0].KeyID {
		t.Fatal("the minted API key is not valid")
	}

	for i := 1; i <= 3; i++ {
		version := st.rotate(k.SecretARN)
		sec := st.describe(k.SecretARN)
		if !slices.Contains(sec.Versions[version], secretstore.Current) {
			t.Fatalf("rotation %d did not complete: %v (last error %q)", i, sec.Versions, sec.Tags["ddconn:last-error"])
		}
		docs = append(docs, st.apiKeyDoc(k.SecretARN, secretstore.Current))
		cur, prev := docs[i], docs[i-1]
		if cur.KeyID == prev.KeyID || !st.validAPIKey(cur.Key) || !st.validAPIKey(prev.Key) {
			t.Fatalf("rotation %d: the current and the previous key must both be valid", i)
		}
		if st.apiKeyDoc(k.SecretARN, secretstore.Previous).KeyID != prev.KeyID {
			t.Fatalf("rotation %d: AWSPREVIOUS does not hold the replaced key", i)
		}
		if i >= 2 && st.validAPIKey(docs[i-2].Key) {
			t.Fatalf("rotation %d: the key from two rotations back is still valid", i)
		}
	}

	list, err := st.svc.ListAPIKeys(ctx, connName)
	if err != nil || len(list) != 1 || list[0].Name != "agent-us5" {
		t.Fatalf("ListAPIKeys = %+v, %v", list, err)
	}
	if err := st.svc.DeleteAPIKey(ctx, connName, "agent-us5", false); err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if st.validAPIKey(d.Key) {
			t.Errorf("key %d survived the delete", i)
		}
	}
	if !st.validAPIKey(st.apiKey) {
		t.Error("deleting the managed key deleted the connection's API key")
	}
	if _, err := st.svc.GetAPIKey(ctx, connName, "agent-us5"); !errors.Is(err, managedkey.ErrNotFound) {
		t.Errorf("GetAPIKey after delete = %v, want ErrNotFound", err)
	}
}

func TestAPIKeyMintRefusals(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	tests := []struct {
		name string
		conn string
		in   managedkey.APIKeyInput
		want error
	}{
		{"bad name", connName, managedkey.APIKeyInput{Name: "Agent"}, managedkey.ErrInvalid},
		{"an unknown revocation policy", connName, managedkey.APIKeyInput{Name: "a", Rotation: managedkey.RotationInput{RevokePrevious: "never"}}, managedkey.ErrInvalid},
		{"maxGrace without when-unused", connName, managedkey.APIKeyInput{Name: "a", Rotation: managedkey.RotationInput{MaxGrace: "2h"}}, managedkey.ErrInvalid},
		{"unknown connection", "nope", managedkey.APIKeyInput{Name: "a"}, managedkey.ErrConnectionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.svc.MintAPIKey(ctx, tt.conn, tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("MintAPIKey = %v, want %v", err, tt.want)
			}
		})
	}
	// A connection whose key may not write API keys is rejected, and
	// nothing is left behind.
	st.newConnectionScoped("narrow", nil, []string{"api_keys_read"})
	before := len(st.apiKeyIDs())
	_, err := st.svc.MintAPIKey(ctx, "narrow", managedkey.APIKeyInput{Name: "a"})
	if !errors.Is(err, managedkey.ErrRejected) || !strings.Contains(err.Error(), "api_keys_write") {
		t.Fatalf("MintAPIKey with a narrow key = %v, want ErrRejected", err)
	}
	if after := len(st.apiKeyIDs()); after != before {
		t.Fatalf("a refused mint left %d API keys", after-before)
	}
}

// apiKeyIDs lists the org's API keys with the connection's keys.
func (st *stack) apiKeyIDs() []string {
	st.t.Helper()
	v, err := st.store.Get(context.Background(), st.conn, "", secretstore.Current)
	if err != nil {
		st.t.Fatal(err)
	}
	d, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		st.t.Fatal(err)
	}
	cr, err := secretkind.Connection.Credentials(d, secretkind.Manager{})
	if err != nil {
		st.t.Fatal(err)
	}
	keys, err := st.dd.ListAPIKeys(context.Background(), cr)
	if err != nil {
		st.t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

// TestAPIKeyRevocationPolicy: a managed API key takes every revocation
// policy, when-unused with its parameters included, and shows it.
func TestAPIKeyRevocationPolicy(t *testing.T) {
	st := newStack(t)
	k, err := st.svc.MintAPIKey(context.Background(), connName, managedkey.APIKeyInput{Name: "agent",
		Rotation: managedkey.RotationInput{RevokePrevious: "when-unused", MaxGrace: "2d", QuietPeriod: "30m"}})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	if r := k.Rotation; r.RevokePrevious != "when-unused" || r.MaxGrace != "48h" || r.QuietPeriod != "30m" {
		t.Fatalf("rotation %+v, want when-unused with maxGrace 48h and quietPeriod 30m", r)
	}
}
