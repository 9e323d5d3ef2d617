package managedkey_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

// TestMintDeletesKeysOfAbandonedMints plays a mint that crashed after
// creating its key: the next mint of the same name deletes that key once it
// is older than the minimum age, and leaves a younger one (a concurrent
// mint's) and other names' keys alone.
func TestMintDeletesKeysOfAbandonedMints(t *testing.T) {
	tests := []struct {
		kind string
		mint func(st *stack, name string) error
		add  func(st *stack, name string) string // a key named name; its id
		gone func(st *stack, id string) bool
	}{
		{"application key",
			func(st *stack, name string) error {
				_, err := st.svc.Mint(context.Background(), connName, managedkey.MintInput{Name: name, ServiceAccountID: st.sa, Scopes: requested})
				return err
			},
			func(st *stack, name string) string { _, id := st.sim.AddAppKey(st.sa, name, requested); return id },
			func(st *stack, id string) bool { _, ok := st.keysOf(st.sa)[id]; return !ok },
		},
		{"API key",
			func(st *stack, name string) error {
				_, err := st.svc.MintAPIKey(context.Background(), connName, managedkey.APIKeyInput{Name: name})
				return err
			},
			func(st *stack, name string) string { _, id := st.sim.AddAPIKey(st.org, name); return id },
			func(st *stack, id string) bool {
				for _, k := range st.apiKeyIDs() {
					if k == id {
						return false
					}
				}
				return true
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			st := newStack(t)
			kind := "keys"
			if tt.kind == "API key" {
				kind = "api-keys"
			}
			prefix := "ddconn-managed:" + kind + "/" + connName + "/checkout:"
			old := tt.add(st, prefix+"crashed-token")
			other := tt.add(st, "ddconn-managed:"+kind+"/"+connName+"/checkout-eu:x")
			st.emu.Advance(managedkey.DefaultMinAge + time.Minute)
			young := tt.add(st, prefix+"in-flight-token")

			if err := tt.mint(st, "checkout"); err != nil {
				t.Fatal(err)
			}
			st.waitIdle()
			if !tt.gone(st, old) {
				t.Error("the abandoned mint's key survived")
			}
			if tt.gone(st, young) || tt.gone(st, other) {
				t.Error("a young key, or another managed key's, was deleted")
			}
		})
	}
}

// TestSweeperFinishesAbandonedMints plays a mint that stops after creating
// its key and before storing it, with nothing left to delete the key (the
// store fails, then so does the deletion, as when the process dies): the
// intent recorded on the connection leads the sweeper to the key once it
// is older than the minimum age. A mint that completes leaves no intent.
func TestSweeperFinishesAbandonedMints(t *testing.T) {
	tests := []struct {
		kind       string
		mint       func(st *stack) error
		deletePath string // the Datadog route that deletes the key
		keys       func(st *stack) []string
	}{
		{"application key",
			func(st *stack) error {
				_, err := st.svc.Mint(context.Background(), connName, managedkey.MintInput{Name: "checkout", ServiceAccountID: st.sa, Scopes: requested})
				return err
			},
			"/api/v2/service_accounts/",
			func(st *stack) []string { return slices.Collect(maps.Keys(st.keysOf(st.sa))) },
		},
		{"API key",
			func(st *stack) error {
				_, err := st.svc.MintAPIKey(context.Background(), connName, managedkey.APIKeyInput{Name: "agent"})
				return err
			},
			"/api/v2/api_keys/",
			func(st *stack) []string { return st.apiKeyIDs() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			st := newStack(t)
			before := tt.keys(st)
			st.emu.AddFault(smemu.Fault{Operation: "CreateSecret", Error: "InternalServiceError", Count: 100})
			st.sim.AddFault(ddsim.Fault{Method: "DELETE", PathPrefix: tt.deletePath, Status: 500, Count: 100})
			if err := tt.mint(st); err == nil {
				t.Fatal("the mint succeeded with Secrets Manager failing")
			}
			st.emu.ClearFaults()
			st.sim.ClearFaults()
			left := tt.keys(st)
			if len(left) != len(before)+1 || len(mintTags(st)) != 1 {
				t.Fatalf("after the failed mint: %d keys (%d before), mint tags %v; want the abandoned key and its intent",
					len(left), len(before), mintTags(st))
			}

			if _, err := st.sweep.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(tt.keys(st)) != len(before)+1 {
				t.Fatal("the sweeper deleted a key younger than the minimum age")
			}
			st.emu.Advance(managedkey.DefaultMinAge + time.Minute)
			rep, err := st.sweep.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.keys(st); len(got) != len(before) || rep.Swept != 1 || len(mintTags(st)) != 0 {
				t.Fatalf("after the sweep: %d keys (%d before), swept %d, mint tags %v", len(got), len(before), rep.Swept, mintTags(st))
			}

			if err := tt.mint(st); err != nil {
				t.Fatal(err)
			}
			if tags := mintTags(st); len(tags) != 0 {
				t.Fatalf("a completed mint left its intent: %v", tags)
			}
		})
	}
}

// mintTags are the mint intents recorded on the connection's secret.
func mintTags(st *stack) []string {
	var out []string
	for k := range st.describe(st.conn).Tags {
		if strings.HasPrefix(k, "ddconn:mint:") {
			out = append(out, k)
		}
	}
	return out
}
