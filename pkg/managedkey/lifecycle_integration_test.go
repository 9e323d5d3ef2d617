package managedkey_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// requested is sorted: mints store scopes sorted, each once.
var requested = []string{"dashboards_read", "metrics_read"}

// TestLifecycle mints a managed key, reads its secret, rotates it twice,
// checks revocation under each policy, and deletes it with revocation.
func TestLifecycle(t *testing.T) {
	tests := []struct {
		policy string
		// previousLives: AWSPREVIOUS's key still works after a rotation.
		previousLives bool
	}{
		{"next-rotation", true},
		{"immediately", false},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			t.Parallel()
			st := newStack(t)
			ctx := context.Background()
			k, err := st.svc.Mint(ctx, connName, managedkey.MintInput{
				Name: "checkout", ServiceAccountID: st.sa, Scopes: requested,
				Rotation: managedkey.RotationInput{Schedule: "rate(30 days)", RevokePrevious: tt.policy},
			})
			if err != nil {
				t.Fatal(err)
			}
			st.waitIdle() // the RotateImmediately=false test of the configuration
			if k.SecretName != prefix+"keys/"+connName+"/checkout" || !slices.Equal(k.Scopes, requested) ||
				k.ServiceAccountID != st.sa || !k.Rotation.Enabled || k.Rotation.Schedule != "rate(30 days)" || k.IncludeAPIKey {
				t.Fatalf("minted %+v", k)
			}
			first := st.doc(k.SecretARN, secretstore.Current)
			st.assertKey(first, "minted")

			// Rotate twice: each new key has the same scopes and owner.
			docs := []secretkind.Document{first}
			for i := range 2 {
				version := st.rotate(k.SecretARN)
				sec := st.describe(k.SecretARN)
				if !slices.Contains(sec.Versions[version], secretstore.Current) {
					t.Fatalf("rotation %d did not complete: %v (last error %q)", i+1, sec.Versions, sec.Tags["ddconn:last-error"])
				}
				d := st.doc(k.SecretARN, secretstore.Current)
				if d.KeyID == docs[len(docs)-1].KeyID {
					t.Fatalf("rotation %d kept the key", i+1)
				}
				st.assertKey(d, "rotated")
				docs = append(docs, d)
			}

			keys := st.keysOf(st.sa)
			_, prevAlive := keys[docs[1].KeyID]
			_, firstAlive := keys[docs[0].KeyID]
			if firstAlive {
				t.Error("the minted key survived two rotations")
			}
			if prevAlive != tt.previousLives || st.works(docs[1]) != tt.previousLives {
				t.Errorf("AWSPREVIOUS's key alive = %v, want %v", prevAlive, tt.previousLives)
			}
			for _, key := range keys {
				if want := (secretkind.Name{Kind: secretkind.AppKey, Connection: connName, Key: "checkout"}).DatadogKeyNamePrefix(st.scope()); !strings.HasPrefix(key.Name, want) {
					t.Errorf("the service account holds a key named %q", key.Name)
				}
			}

			got, err := st.svc.Get(ctx, connName, "checkout")
			if err != nil || got.ApplicationKeyID != docs[2].KeyID || !slices.Equal(got.Scopes, requested) {
				t.Fatalf("Get = %+v, %v", got, err)
			}
			list, err := st.svc.List(ctx, connName)
			if err != nil || len(list) != 1 || list[0].Name != "checkout" {
				t.Fatalf("List = %+v, %v", list, err)
			}

			if err := st.svc.Delete(ctx, connName, "checkout", false); err != nil {
				t.Fatal(err)
			}
			if left := st.keysOf(st.sa); len(left) != 0 {
				t.Errorf("keys left after the delete: %v", left)
			}
			if _, err := st.store.Describe(ctx, k.SecretARN); !errors.Is(err, secretstore.ErrNotFound) {
				t.Errorf("the secret survived the delete: %v", err)
			}
			if _, err := st.svc.Get(ctx, connName, "checkout"); !errors.Is(err, managedkey.ErrNotFound) {
				t.Errorf("Get after delete = %v, want ErrNotFound", err)
			}
			// The connection's own key is untouched.
			if !st.connectionWorks() {
				t.Error("the connection's key stopped working")
			}
		})
	}
}

// assertKey checks a managed key's document against Datadog: owned by the
// service account, exactly the requested scopes, working.
func (st *stack) assertKey(d secretkind.Document, when string) {
	st.t.Helper()
	k, ok := st.keysOf(st.sa)[d.KeyID]
	switch {
	case !ok:
		st.t.Fatalf("%s: key %s is not the service account's", when, d.KeyID)
	case !slices.Equal(k.Scopes, requested) || !slices.Equal(d.Scopes, requested):
		st.t.Fatalf("%s: scopes %v (document %v), want %v", when, k.Scopes, d.Scopes, requested)
	case d.OwnerID != st.sa || d.URL != siteURL:
		st.t.Fatalf("%s: document %v", when, d)
	case !st.works(d):
		st.t.Fatalf("%s: the key does not authenticate", when)
	}
}

func (st *stack) connectionWorks() bool {
	v, err := st.store.Get(context.Background(), st.conn, "", secretstore.Current)
	if err != nil {
		return false
	}
	for _, k := range st.keysOf(st.connOwner) {
		if strings.Contains(v.Value, k.ID) {
			return true
		}
	}
	return false
}

// TestIncludeAPIKeyFollowsTheConnection checks that each rotation refreshes
// the API key copy from the connection, and that a rotation uses the
// connection's current key as the manager even after the connection's own
// key was rotated.
func TestIncludeAPIKeyFollowsTheConnection(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	k, err := st.svc.Mint(ctx, connName, managedkey.MintInput{Name: "agent", ServiceAccountID: st.sa, Scopes: requested, IncludeAPIKey: true})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	if d := st.doc(k.SecretARN, secretstore.Current); d.APIKey != st.apiKey || !k.IncludeAPIKey {
		t.Fatal("the minted document lacks the connection's API key")
	}

	// The connection gets a new API key and its own key rotates; the
	// managed key's next rotation must follow both.
	newAPIKey, _ := st.sim.AddAPIKey(st.org, "second api key")
	v, err := st.store.Get(ctx, st.conn, "", secretstore.Current)
	if err != nil {
		t.Fatal(err)
	}
	value := strings.Replace(v.Value, st.apiKey, newAPIKey, 1)
	if _, err := st.store.Put(ctx, st.conn, "", value, []string{secretstore.Current}, ""); err != nil {
		t.Fatal(err)
	}
	st.rotate(st.conn)
	if !st.connectionWorks() {
		t.Fatal("the connection's rotation failed")
	}

	st.rotate(k.SecretARN)
	d := st.doc(k.SecretARN, secretstore.Current)
	if d.APIKey != newAPIKey {
		t.Error("the rotation did not refresh the API key copy")
	}
	if !st.sim.Authenticates(newAPIKey, d.Key) {
		t.Error("the rotated managed key does not authenticate")
	}
}

// TestMintGuards checks every refusal, and that a refusal creates nothing.
func TestMintGuards(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	human := st.sim.AddUser(st.org, ddsim.UserSpec{Name: "a human", Permissions: []string{"metrics_read"}})
	disabled := st.sim.AddUser(st.org, ddsim.UserSpec{Name: "retired", ServiceAccount: true, Disabled: true})
	other := st.sim.AddUser(st.org, ddsim.UserSpec{Name: "other", ServiceAccount: true, Permissions: []string{"metrics_read"}})
	st.newConnection("restricted", map[string]string{secretkind.TagAllowedServiceAccounts: st.sa})
	if _, err := st.svc.Mint(ctx, connName, managedkey.MintInput{Name: "taken", ServiceAccountID: st.sa, Scopes: requested}); err != nil {
		t.Fatal(err)
	}
	st.waitIdle()

	tests := []struct {
		name string
		conn string
		in   managedkey.MintInput
		want error
	}{
		{"missing scopes", connName, managedkey.MintInput{Name: "a", ServiceAccountID: st.sa}, managedkey.ErrInvalid},
		{"empty scopes", connName, managedkey.MintInput{Name: "a", ServiceAccountID: st.sa, Scopes: []string{}}, managedkey.ErrInvalid},
		{"bad name", connName, managedkey.MintInput{Name: "A/b", ServiceAccountID: st.sa, Scopes: requested}, managedkey.ErrInvalid},
		{"bad schedule", connName, managedkey.MintInput{Name: "a", ServiceAccountID: st.sa, Scopes: requested,
			Rotation: managedkey.RotationInput{Schedule: "rate(1 minutes)"}}, managedkey.ErrInvalid},
		{"unknown service account", connName, managedkey.MintInput{Name: "a", ServiceAccountID: "00000000-0000-4000-8000-000000000000", Scopes: requested}, managedkey.ErrServiceAccount},
		{"a human user", connName, managedkey.MintInput{Name: "a", ServiceAccountID: human, Scopes: requested}, managedkey.ErrServiceAccount},
		{"a disabled service account", connName, managedkey.MintInput{Name: "a", ServiceAccountID: disabled, Scopes: requested}, managedkey.ErrServiceAccount},
		{"outside allowedServiceAccounts", "restricted", managedkey.MintInput{Name: "a", ServiceAccountID: other, Scopes: requested}, managedkey.ErrNotAllowed},
		{"name taken", connName, managedkey.MintInput{Name: "taken", ServiceAccountID: st.sa, Scopes: requested}, managedkey.ErrExists},
		{"unknown connection", "nope", managedkey.MintInput{Name: "a", ServiceAccountID: st.sa, Scopes: requested}, managedkey.ErrConnectionNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(st.sim.Keys())
			_, err := st.svc.Mint(ctx, tt.conn, tt.in)
			var e *managedkey.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("Mint = %v, want %v", err, tt.want)
			}
			if after := len(st.sim.Keys()); after != before {
				t.Fatalf("a refused mint created %d keys", after-before)
			}
			if _, err := st.store.Describe(ctx, prefix+"keys/"+tt.conn+"/"+tt.in.Name); tt.want != managedkey.ErrExists && !errors.Is(err, secretstore.ErrNotFound) {
				t.Fatalf("a refused mint left a secret: %v", err)
			}
		})
	}

	t.Run("allowUnscoped mints an unscoped key", func(t *testing.T) {
		k, err := st.svc.Mint(ctx, connName, managedkey.MintInput{Name: "wide", ServiceAccountID: st.sa, AllowUnscoped: true})
		if err != nil {
			t.Fatal(err)
		}
		st.waitIdle()
		d := st.doc(k.SecretARN, secretstore.Current)
		if key := st.keysOf(st.sa)[d.KeyID]; key.Scopes != nil || d.Scopes != nil || k.Scopes != nil {
			t.Fatalf("scopes %v, want unscoped", key.Scopes)
		}
	})
	t.Run("allowed service account on a restricted connection", func(t *testing.T) {
		if _, err := st.svc.Mint(ctx, "restricted", managedkey.MintInput{Name: "ok", ServiceAccountID: st.sa, Scopes: requested}); err != nil {
			t.Fatal(err)
		}
		st.waitIdle()
	})
}

// TestDeleteKeepKeys deletes the secret but leaves the key working.
func TestDeleteKeepKeys(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	k, err := st.svc.Mint(ctx, connName, managedkey.MintInput{Name: "kept", ServiceAccountID: st.sa, Scopes: requested})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	d := st.doc(k.SecretARN, secretstore.Current)
	if err := st.svc.Delete(ctx, connName, "kept", true); err != nil {
		t.Fatal(err)
	}
	if !st.works(d) {
		t.Error("keepKeys revoked the key")
	}
	if _, err := st.store.Describe(ctx, k.SecretARN); !errors.Is(err, secretstore.ErrNotFound) {
		t.Errorf("the secret survived: %v", err)
	}
	if err := st.svc.Delete(ctx, connName, "kept", true); !errors.Is(err, managedkey.ErrNotFound) {
		t.Errorf("deleting again = %v, want ErrNotFound", err)
	}
}

// TestRevokeAfterGracePeriod checks the after:<duration> policy on a
// managed key: the replaced key works until the grace period has passed,
// then the sweeper revokes it with the connection's key.
func TestRevokeAfterGracePeriod(t *testing.T) {
	st := newStack(t)
	ctx := context.Background()
	k, err := st.svc.Mint(ctx, connName, managedkey.MintInput{Name: "graced", ServiceAccountID: st.sa, Scopes: requested,
		Rotation: managedkey.RotationInput{RevokePrevious: "after:1h"}})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	first := st.doc(k.SecretARN, secretstore.Current)
	st.rotate(k.SecretARN)
	st.assertKey(st.doc(k.SecretARN, secretstore.Current), "rotated")

	for _, step := range []struct {
		advance time.Duration
		alive   bool
	}{{30 * time.Minute, true}, {31 * time.Minute, false}} {
		st.emu.Advance(step.advance)
		if _, err := st.sweep.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if got := st.works(first); got != step.alive {
			t.Fatalf("after %v more: the replaced key works = %v, want %v", step.advance, got, step.alive)
		}
	}
}
