package managedkey_test

import (
	"context"
	"testing"
	"time"

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
