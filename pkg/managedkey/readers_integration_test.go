package managedkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

const (
	readerAccount = "222222222222"
	readerRole    = "arn:aws:iam::333333333333:role/checkout-reader"
	readerRoot    = "arn:aws:iam::222222222222:root"
	otherAccount  = "444444444444"
)

// policyPrincipals reads the secret's resource policy and returns the
// principals it lets read the secret, checking that it allows exactly
// GetSecretValue and DescribeSecret on that secret alone; nil without a
// policy.
func (st *stack) policyPrincipals(arn string) []string {
	st.t.Helper()
	raw, err := st.store.Policy(context.Background(), arn)
	if err != nil {
		st.t.Fatal(err)
	}
	if raw == "" {
		return nil
	}
	var doc struct {
		Statement []struct {
			Effect    string
			Principal struct{ AWS []string }
			Action    []string
			Resource  string
			Condition any
		}
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || len(doc.Statement) != 1 {
		st.t.Fatalf("resource policy %s: %v", raw, err)
	}
	s := doc.Statement[0]
	actions := slices.Sorted(slices.Values(s.Action))
	if s.Effect != "Allow" || s.Resource != "*" || s.Condition != nil ||
		!slices.Equal(actions, []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}) {
		st.t.Fatalf("resource policy %s allows more or other than reading the secret", raw)
	}
	return slices.Sorted(slices.Values(s.Principal.AWS))
}

// grantees returns the principals of the connection key's grants for the
// secret arn, checking each allows Decrypt only and names the secret.
func (st *stack) grantees(arn string) []string {
	st.t.Helper()
	var out []string
	for _, g := range st.kms.Grants(st.kmsKey) {
		if g.EncryptionContextSubset["SecretARN"] != arn {
			continue
		}
		if !slices.Equal(g.Operations, []string{"Decrypt"}) || len(g.EncryptionContextSubset) != 1 {
			st.t.Fatalf("grant %+v allows more than decrypting the secret", g)
		}
		out = append(out, g.GranteePrincipal)
	}
	slices.Sort(out)
	return out
}

// sharedWith checks the two sides AWS checks for a reader in another
// account: the resource policy names exactly principals, and there is one
// grant per principal. No principals: no policy, no grant, no tag.
func (st *stack) sharedWith(arn string, principals ...string) {
	st.t.Helper()
	slices.Sort(principals)
	if got := st.policyPrincipals(arn); !slices.Equal(got, principals) {
		st.t.Errorf("resource policy principals = %v, want %v", got, principals)
	}
	if got := st.grantees(arn); !slices.Equal(got, principals) {
		st.t.Errorf("grantees = %v, want %v", got, principals)
	}
	sec, err := st.store.Describe(context.Background(), arn)
	if err == nil && len(principals) == 0 && sec.Tags[secretkind.TagReaders] != "" {
		st.t.Errorf("no readers, yet the secret is still tagged %s", secretkind.TagReaders)
	}
}

// keyOps are the service calls on one kind of managed key, answering its
// secret ARN and readers.
type keyOps struct {
	mint   func(name string, readers []string) (string, []string, error)
	get    func(name string) ([]string, error)
	list   func() (map[string][]string, error)
	update func(name string, readers []string) ([]string, error)
	del    func(name string) error
}

func appKeyOps(st *stack, ctx context.Context) keyOps {
	return keyOps{
		mint: func(name string, readers []string) (string, []string, error) {
			k, err := st.svc.Mint(ctx, connName, managedkey.MintInput{Name: name, ServiceAccountID: st.sa, Scopes: []string{"metrics_read"}, Readers: readers})
			return k.SecretARN, k.Readers, err
		},
		get: func(name string) ([]string, error) { k, err := st.svc.Get(ctx, connName, name); return k.Readers, err },
		list: func() (map[string][]string, error) {
			ks, err := st.svc.List(ctx, connName)
			out := map[string][]string{}
			for _, k := range ks {
				out[k.Name] = k.Readers
			}
			return out, err
		},
		update: func(name string, readers []string) ([]string, error) {
			k, err := st.svc.Update(ctx, connName, name, managedkey.UpdateInput{Readers: &readers})
			return k.Readers, err
		},
		del: func(name string) error { return st.svc.Delete(ctx, connName, name, false) },
	}
}

func apiKeyOps(st *stack, ctx context.Context) keyOps {
	return keyOps{
		mint: func(name string, readers []string) (string, []string, error) {
			k, err := st.svc.MintAPIKey(ctx, connName, managedkey.APIKeyInput{Name: name, Format: "plain", Readers: readers})
			return k.SecretARN, k.Readers, err
		},
		get: func(name string) ([]string, error) {
			k, err := st.svc.GetAPIKey(ctx, connName, name)
			return k.Readers, err
		},
		list: func() (map[string][]string, error) {
			ks, err := st.svc.ListAPIKeys(ctx, connName)
			out := map[string][]string{}
			for _, k := range ks {
				out[k.Name] = k.Readers
			}
			return out, err
		},
		update: func(name string, readers []string) ([]string, error) {
			k, err := st.svc.UpdateAPIKey(ctx, connName, name, managedkey.UpdateInput{Readers: &readers})
			return k.Readers, err
		},
		del: func(name string) error { return st.svc.DeleteAPIKey(ctx, connName, name, false) },
	}
}

// TestReaders gives a managed key of each kind readers, changes them,
// removes them and deletes the key, and checks after each step the
// object's readers, the secret's resource policy and the KMS grants.
func TestReaders(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	for kind, ops := range map[string]keyOps{"application key": appKeyOps(st, ctx), "API key": apiKeyOps(st, ctx)} {
		t.Run(kind, func(t *testing.T) {
			name := strings.ToLower(strings.ReplaceAll(kind, " ", "-"))
			arn, readers, err := ops.mint(name, []string{readerRole, readerAccount, readerRole})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{readerAccount, readerRole}
			if !slices.Equal(readers, want) {
				t.Fatalf("minted with readers %v, want %v", readers, want)
			}
			st.sharedWith(arn, readerRoot, readerRole)
			if got, err := ops.get(name); err != nil || !slices.Equal(got, want) {
				t.Fatalf("get: readers %v, %v; want %v", got, err, want)
			}
			if all, err := ops.list(); err != nil || !slices.Equal(all[name], want) {
				t.Fatalf("list: readers %v, %v; want %v", all[name], err, want)
			}
			steps := []struct {
				name       string
				readers    []string
				principals []string
			}{
				{"another reader replaces both", []string{otherAccount}, []string{"arn:aws:iam::444444444444:root"}},
				{"the same again changes nothing", []string{otherAccount}, []string{"arn:aws:iam::444444444444:root"}},
				{"none", []string{}, nil},
				{"readers again", []string{readerRole}, []string{readerRole}},
			}
			for _, s := range steps {
				got, err := ops.update(name, s.readers)
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if !slices.Equal(got, s.readers) {
					t.Errorf("%s: readers %v, want %v", s.name, got, s.readers)
				}
				st.sharedWith(arn, s.principals...)
			}
			if err := ops.del(name); err != nil {
				t.Fatal(err)
			}
			if g := st.grantees(arn); len(g) != 0 {
				t.Errorf("the key is deleted, yet grants remain for %v", g)
			}
			if _, err := st.store.Policy(ctx, arn); !errors.Is(err, secretstore.ErrNotFound) {
				t.Errorf("the key's secret (and its policy) outlived the delete: %v", err)
			}
		})
	}
}

// TestReadersRefused checks that readers the request may not name change
// nothing: invalid ones (400), too many (400), and accounts the
// connection's team may not share with (403).
func TestReadersRefused(t *testing.T) {
	st := newStack(t)
	policy, err := access.ParsePolicy([]byte(`{"teams": {"team-a": {"groups": ["team-a"], "accounts": ["` + readerAccount + `"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	teamConn := "team-conn"
	st.newConnection(teamConn, map[string]string{secretkind.TagTeam: "team-a"})
	member := access.WithCaller(context.Background(), access.Resolve(policy, access.Identity{Kind: access.KindJWT, Groups: []string{"team-a"}}))
	many := make([]string, managedkey.MaxReaders+1)
	for i := range many {
		many[i] = fmt.Sprintf("%012d", i+1)
	}
	// A key whose readers the refused updates must leave alone.
	kept, err := st.svc.Mint(member, teamConn, managedkey.MintInput{Name: "kept", ServiceAccountID: st.sa, Scopes: []string{"metrics_read"}, Readers: []string{readerAccount}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		readers []string
		want    error
	}{
		{"an account that is not 12 digits", []string{"12345"}, managedkey.ErrInvalid},
		{"a wildcard", []string{"*"}, managedkey.ErrInvalid},
		{"an assumed-role session", []string{"arn:aws:sts::222222222222:assumed-role/r/s"}, managedkey.ErrInvalid},
		{"a role ARN without a name", []string{"arn:aws:iam::222222222222:role/"}, managedkey.ErrInvalid},
		{"a role ARN with a wildcard", []string{"arn:aws:iam::222222222222:role/*"}, managedkey.ErrInvalid},
		{"another partition", []string{"arn:aws-cn:iam::222222222222:role/r"}, managedkey.ErrInvalid},
		{"too many", many, managedkey.ErrInvalid},
		{"an account the team may not share with", []string{readerAccount, otherAccount}, access.ErrForbidden},
		{"a role in such an account", []string{"arn:aws:iam::444444444444:role/r"}, access.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grantsBefore := len(st.kms.Grants(st.kmsKey))
			_, err := st.svc.Mint(member, teamConn, managedkey.MintInput{Name: "refused", ServiceAccountID: st.sa, Scopes: []string{"metrics_read"}, Readers: tt.readers})
			if !errors.Is(err, tt.want) {
				t.Fatalf("mint: %v, want %v", err, tt.want)
			}
			if _, err := st.store.Describe(context.Background(), prefix+"keys/"+teamConn+"/refused"); !errors.Is(err, secretstore.ErrNotFound) {
				t.Errorf("a refused mint left its secret: %v", err)
			}
			_, err = st.svc.Update(member, teamConn, "kept", managedkey.UpdateInput{Readers: &tt.readers})
			if !errors.Is(err, tt.want) {
				t.Fatalf("update: %v, want %v", err, tt.want)
			}
			st.sharedWith(kept.SecretARN, readerRoot)
			if n := len(st.kms.Grants(st.kmsKey)); n != grantsBefore {
				t.Errorf("%d grants after the refusal, %d before", n, grantsBefore)
			}
		})
	}
}

// TestReadersFinishAfterAFailure fails the readers' grants during a mint
// requested by an event and checks that the key is committed but its
// readers unfinished, and that the repeated delivery finishes them, with
// one grant per reader.
func TestReadersFinishAfterAFailure(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	in := managedkey.MintInput{Name: "retried", ServiceAccountID: st.sa, Scopes: []string{"metrics_read"},
		Readers: []string{readerAccount, readerRole}, RequestID: "3b1f6c1e-5d7a-4f4e-9a55-0c6f3d2e1a90"}
	st.kms.AddFault("CreateGrant", "KMSInternalException", 20)
	if _, err := st.svc.Mint(ctx, connName, in); !errors.Is(err, managedkey.ErrUnavailable) {
		t.Fatalf("mint with KMS failing: %v, want ErrUnavailable", err)
	}
	sec := st.describe(prefix + "keys/" + connName + "/retried")
	if _, committed := sec.CurrentVersion(); !committed || sec.Tags[secretkind.TagReaders] == "" {
		t.Fatalf("after the failure: committed %v, tags %v; want a committed key marked as having readers", committed, sec.Tags)
	}
	st.kms.ClearFaults()
	k, err := st.svc.Mint(ctx, connName, in)
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	if !slices.Equal(k.Readers, []string{readerAccount, readerRole}) || !k.Rotation.Enabled {
		t.Fatalf("the repeated mint answers readers %v, rotation %v", k.Readers, k.Rotation.Enabled)
	}
	st.sharedWith(k.SecretARN, readerRoot, readerRole)
}
