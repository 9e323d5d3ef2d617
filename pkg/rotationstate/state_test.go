package rotationstate

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func loadSecret(t *testing.T, path string) secretstore.Secret {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sec secretstore.Secret
	if err := json.Unmarshal(b, &sec); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sec
}

func TestStateOfRotatingSecret(t *testing.T) {
	got, err := json.Marshal(StateOf(loadSecret(t, "testdata/rotating_secret.json")))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/rotating_state.json")
	if err != nil {
		t.Fatal(err)
	}
	if g, w := canonicalJSON(t, got), canonicalJSON(t, want); !bytes.Equal(g, w) {
		t.Errorf("StateOf\n got %s\nwant %s", g, w)
	}
}

func TestStateOfVariants(t *testing.T) {
	rotated := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		sec   secretstore.Secret
		check func(t *testing.T, st State)
	}{
		{
			name: "never configured",
			sec:  secretstore.Secret{Versions: map[string][]string{"v1": {secretstore.Current}}},
			check: func(t *testing.T, st State) {
				if st.Enabled || st.Schedule != "" || st.InProgress || st.RevokePrevious != "next-rotation" {
					t.Errorf("got %+v", st)
				}
			},
		},
		{
			name: "cancelled rotation keeps no next date",
			sec: secretstore.Secret{
				Rules: secretstore.RotationRules{AutomaticallyAfterDays: 7}, LastRotatedAt: &rotated, NextRotationAt: &rotated,
				Versions: map[string][]string{"v1": {secretstore.Current}},
			},
			check: func(t *testing.T, st State) {
				if st.Enabled || st.NextRotationAt != nil || st.LastRotatedAt == nil || st.Schedule != "rate(7 days)" {
					t.Errorf("got %+v", st)
				}
			},
		},
		{
			name: "pending on the current version is not in progress",
			sec: secretstore.Secret{RotationEnabled: true, Versions: map[string][]string{
				"v2": {secretstore.Current, secretstore.Pending}, "v1": {secretstore.Previous}}},
			check: func(t *testing.T, st State) {
				if st.InProgress {
					t.Errorf("want not in progress, got %+v", st)
				}
			},
		},
		{
			name: "revoke by hand",
			sec: secretstore.Secret{Tags: map[string]string{secretkind.TagRevokeByHand: "revoke it by hand"},
				Versions: map[string][]string{"v1": {secretstore.Current}}},
			check: func(t *testing.T, st State) {
				if st.RevokeByHand != "revoke it by hand" {
					t.Errorf("got %+v", st)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, StateOf(tt.sec)) })
	}
}

// canonicalJSON re-encodes a JSON document with sorted object keys.
func canonicalJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	out, _ := json.Marshal(v)
	return out
}
