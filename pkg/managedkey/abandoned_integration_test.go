package managedkey_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// abandonCase is one kind of managed key whose mint is made to stop after
// creating its key and before storing it, with nothing able to delete the
// key (the store fails, then so does the deletion, as when the process
// dies): what a crash leaves.
type abandonCase struct {
	kind       string
	name       secretkind.Name
	mint       func(st *stack) error
	deletePath string // the Datadog route that deletes the key
	keys       func(st *stack) []string
}

func abandonCases() []abandonCase {
	return []abandonCase{
		{"application key", secretkind.Name{Kind: secretkind.AppKey, Connection: connName, Key: "checkout"},
			func(st *stack) error {
				_, err := st.svc.Mint(context.Background(), connName, managedkey.MintInput{Name: "checkout", ServiceAccountID: st.sa, Scopes: requested})
				return err
			},
			"/api/v2/service_accounts/",
			func(st *stack) []string { return slices.Collect(maps.Keys(st.keysOf(st.sa))) },
		},
		{"API key", secretkind.Name{Kind: secretkind.APIKey, Connection: connName, Key: "checkout"},
			func(st *stack) error {
				_, err := st.svc.MintAPIKey(context.Background(), connName, managedkey.APIKeyInput{Name: "checkout"})
				return err
			},
			"/api/v2/api_keys/",
			func(st *stack) []string { return st.apiKeyIDs() },
		},
	}
}

// abandon runs the mint with PutSecretValue and the key deletion failing,
// and checks what it leaves: one more key, and the managed key's secret
// without a value.
func (c abandonCase) abandon(t *testing.T, st *stack, before []string) {
	t.Helper()
	st.emu.AddFault(smemu.Fault{Operation: "PutSecretValue", Error: "InternalServiceError", Count: 100})
	st.sim.AddFault(ddsim.Fault{Method: "DELETE", PathPrefix: c.deletePath, Status: 500, Count: 100})
	if err := c.mint(st); err == nil {
		t.Fatal("the mint succeeded with Secrets Manager failing")
	}
	st.emu.ClearFaults()
	st.sim.ClearFaults()
	if left := c.keys(st); len(left) != len(before)+1 {
		t.Fatalf("after the failed mint: %d keys (%d before); want the abandoned key", len(left), len(before))
	}
	if _, ok := st.describe(c.name.SecretName(prefix)).CurrentVersion(); ok {
		t.Fatal("the failed mint committed")
	}
}

// TestMintRollsBackAnAbandonedMint: a mint whose name is held by an
// abandoned mint answers 409 while that mint may still be in flight, and
// once it is older than the minimum age rolls it back (its key revoked)
// and mints. Keys of other managed keys, and keys kept from an earlier
// incarnation of the name, are left alone.
func TestMintRollsBackAnAbandonedMint(t *testing.T) {
	for _, c := range abandonCases() {
		t.Run(c.kind, func(t *testing.T) {
			st := newStack(t)
			other := secretkind.Name{Kind: c.name.Kind, Connection: connName, Key: "checkout-eu"}
			kept := st.addNamedKey(c.name.Kind, other.DatadogKeyName(st.scope(), "x"))
			keptSame := st.addNamedKey(c.name.Kind, c.name.DatadogKeyName(st.scope(), "earlier-token"))
			before := c.keys(st)
			c.abandon(t, st, before)

			if err := c.mint(st); !errors.Is(err, managedkey.ErrExists) {
				t.Fatalf("mint over a young abandoned mint = %v, want ErrExists", err)
			}
			st.emu.Advance(managedkey.DefaultMinAge + time.Minute)
			if err := c.mint(st); err != nil {
				t.Fatal(err)
			}
			st.waitIdle()
			after := c.keys(st)
			if len(after) != len(before)+1 || !slices.Contains(after, kept) || !slices.Contains(after, keptSame) {
				t.Fatalf("keys after the second mint: %v (before the first %v); want the abandoned key revoked, one new key, the others kept", after, before)
			}
		})
	}
}

// TestSweeperRollsBackAbandonedMints: the sweeper leaves an abandoned mint
// alone while it may be in flight, then revokes its key and deletes its
// secret; the name can be minted again, and a completed mint leaves
// nothing for the sweeper.
func TestSweeperRollsBackAbandonedMints(t *testing.T) {
	for _, c := range abandonCases() {
		t.Run(c.kind, func(t *testing.T) {
			st := newStack(t)
			before := c.keys(st)
			c.abandon(t, st, before)

			if _, err := st.sweep.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(c.keys(st)) != len(before)+1 {
				t.Fatal("the sweeper rolled back a mint younger than the minimum age")
			}
			st.emu.Advance(managedkey.DefaultMinAge + time.Minute)
			rep, err := st.sweep.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := c.keys(st); len(got) != len(before) || rep.Swept != 1 {
				t.Fatalf("after the sweep: %d keys (%d before), swept %d", len(got), len(before), rep.Swept)
			}
			if _, err := st.store.Describe(context.Background(), c.name.SecretName(prefix)); !errors.Is(err, secretstore.ErrNotFound) {
				t.Fatalf("the abandoned mint's secret is still there: %v", err)
			}
			if err := c.mint(st); err != nil {
				t.Fatal(err)
			}
			st.emu.Advance(managedkey.DefaultMinAge + time.Minute)
			if rep, err := st.sweep.Run(context.Background()); err != nil || rep.Swept != 0 {
				t.Fatalf("a completed mint left work for the sweeper: swept %d, %v", rep.Swept, err)
			}
		})
	}
}

// TestBurstOfMintsLeavesTheConnectionAlone: many concurrent mints on one
// connection all succeed, and none writes to the connection's secret: a
// mint's intent is its own secret, not a tag among the connection's 50.
func TestBurstOfMintsLeavesTheConnectionAlone(t *testing.T) {
	st := newStack(t)
	tagsBefore := st.describe(prefix + connName).Tags
	const n = 40 // with the connection's own tags, over 50 if each mint tagged the connection; under Datadog's 50 keys per owner
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := st.svc.Mint(context.Background(), connName, managedkey.MintInput{
				Name:             "burst-" + strings.Repeat("k", 1+i%3) + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
				ServiceAccountID: st.sa, Scopes: requested})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a mint of the burst failed: %v", err)
		}
	}
	if got := st.describe(prefix + connName).Tags; !maps.Equal(got, tagsBefore) {
		t.Fatalf("the burst changed the connection's tags: %d before, %d after", len(tagsBefore), len(got))
	}
	keys, err := st.svc.List(context.Background(), connName)
	if err != nil || len(keys) != n {
		t.Fatalf("List = %d keys, %v; want %d", len(keys), err, n)
	}
}

// addNamedKey adds a key of kind k named name, as if minted earlier, and
// returns its id.
func (st *stack) addNamedKey(k secretkind.Kind, name string) string {
	if k == secretkind.APIKey {
		_, id := st.sim.AddAPIKey(st.org, name)
		return id
	}
	_, id := st.sim.AddAppKey(st.sa, name, requested)
	return id
}

// TestMintFinishesARotationThatCouldNotBeEnabled: when enabling the new
// key's rotation fails after the key was stored, the mint fails; asking
// again finishes it (rotation enabled, the same key) instead of answering
// that the name is taken.
func TestMintFinishesARotationThatCouldNotBeEnabled(t *testing.T) {
	st := newStack(t)
	in := managedkey.MintInput{Name: "half", ServiceAccountID: st.sa, Scopes: requested}
	st.emu.AddFault(smemu.Fault{Operation: "RotateSecret", Error: "InternalServiceError", Count: 100})
	if _, err := st.svc.Mint(context.Background(), connName, in); !errors.Is(err, managedkey.ErrUnavailable) {
		t.Fatalf("mint with RotateSecret failing = %v, want ErrUnavailable", err)
	}
	st.emu.ClearFaults()
	first := st.describe(prefix + "keys/" + connName + "/half")
	if first.RotationEnabled {
		t.Fatal("rotation was enabled despite the fault")
	}
	k, err := st.svc.Mint(context.Background(), connName, in)
	if err != nil {
		t.Fatalf("asking again = %v, want the mint finished", err)
	}
	st.waitIdle()
	if !k.Rotation.Enabled || k.ApplicationKeyID != first.Tags[secretkind.TagKeyID] {
		t.Fatalf("after asking again: rotation %+v, key %s (first %s)", k.Rotation, k.ApplicationKeyID, first.Tags[secretkind.TagKeyID])
	}
	if _, err := st.svc.Mint(context.Background(), connName, in); !errors.Is(err, managedkey.ErrExists) {
		t.Fatalf("a third time = %v, want ErrExists: the mint is complete", err)
	}
}

// TestMintAtTheKeyLimit: a service account that holds Datadog's limit of
// application keys gets no mint - a clear ErrKeyLimit, nothing created -
// and a rotation of one of its keys fails before creating anything, with
// the limit in lastError.
func TestMintAtTheKeyLimit(t *testing.T) {
	st := newStack(t)
	k, err := st.svc.Mint(context.Background(), connName, managedkey.MintInput{Name: "full", ServiceAccountID: st.sa, Scopes: requested})
	if err != nil {
		t.Fatal(err)
	}
	st.waitIdle()
	for len(st.keysOf(st.sa)) < secretkind.AppKey.KeyLimit() {
		st.sim.AddAppKey(st.sa, "filler", requested)
	}
	before := len(st.keysOf(st.sa))
	_, err = st.svc.Mint(context.Background(), connName, managedkey.MintInput{Name: "one-more", ServiceAccountID: st.sa, Scopes: requested})
	if !errors.Is(err, managedkey.ErrKeyLimit) || !strings.Contains(err.Error(), "50") {
		t.Fatalf("mint at the limit = %v, want ErrKeyLimit naming the limit", err)
	}
	if _, err := st.store.Describe(context.Background(), prefix+"keys/"+connName+"/one-more"); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("the refused mint left its secret: %v", err)
	}

	st.rotate(k.SecretARN)
	st.waitIdle()
	sec := st.describe(k.SecretARN)
	if !strings.Contains(sec.Tags[secretkind.TagLastError], "revoke unused") || len(st.keysOf(st.sa)) != before {
		t.Fatalf("rotation at the limit: last error %q, %d keys (%d before)", sec.Tags[secretkind.TagLastError], len(st.keysOf(st.sa)), before)
	}
}
