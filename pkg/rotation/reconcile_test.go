package rotation

import (
	"errors"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
)

// TestRevoker checks which manager revokes a retired key: only one that is,
// or manages, the key's owner.
func TestRevoker(t *testing.T) {
	cr := datadog.Credentials{APIKey: "api", AppKey: "app"}
	own := secretkind.Manager{Credentials: cr}
	managedSA := secretkind.Manager{Credentials: cr, Owner: datadog.KeyOwner{ServiceAccountID: "sa-cur"}}
	user := secretkind.Document{OwnerID: "u-cur"}
	sa := secretkind.Document{OwnerID: "sa-cur", OwnerIsServiceAccount: true}
	tests := []struct {
		name  string
		mgr   secretkind.Manager
		cur   secretkind.Document
		owner rotationstate.Owner
		want  secretkind.Manager
		// unrevocable is true when no manager may revoke the key.
		unrevocable bool
	}{
		{"record without owner: the current owner", own, user, rotationstate.Owner{}, own, false},
		{"same user", own, user, rotationstate.Owner{ID: "u-cur"}, own, false},
		{"same service account", own, sa, rotationstate.Owner{ID: "sa-cur", ServiceAccount: true}, own, false},
		{"managed key of its service account", managedSA, sa, rotationstate.Owner{ID: "sa-cur", ServiceAccount: true}, managedSA, false},
		{"another service account: its routes", own, user, rotationstate.Owner{ID: "sa-old", ServiceAccount: true},
			secretkind.Manager{Credentials: cr, Owner: datadog.KeyOwner{ServiceAccountID: "sa-old"}}, false},
		{"another user", own, user, rotationstate.Owner{ID: "u-old"}, secretkind.Manager{}, true},
		{"another user, current owner unknown", own, secretkind.Document{}, rotationstate.Owner{ID: "u-old"}, secretkind.Manager{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := rotationstate.Retirement{KeyID: "k-old", Owner: tt.owner}
			got, err := revoker(secretkind.Connection, tt.mgr, tt.cur, rt)
			var ue *UnrevocableError
			if tt.unrevocable != errors.As(err, &ue) || got != tt.want {
				t.Fatalf("revoker = %+v, %v; want %+v, unrevocable %v", got.Owner, err, tt.want.Owner, tt.unrevocable)
			}
		})
	}
}

// TestUnrevocableWarningFits checks that the warning of an unrevocable key
// names it, its owner and what to do, within one tag value.
func TestUnrevocableWarningFits(t *testing.T) {
	id, owner := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	err := &UnrevocableError{Noun: secretkind.Connection.Noun(), KeyID: id, Owner: rotationstate.Owner{ID: owner}}
	msg := "2026-03-02T10:00:00Z " + err.Error()
	if v := secretkind.TagValue(msg); v != msg {
		t.Fatalf("the warning %q does not fit a tag value (%d bytes)", msg, len(msg))
	}
	for _, want := range []string{id, "user " + owner, "restore a key of that owner", "revoke it by hand in Datadog"} {
		if !strings.Contains(msg, want) {
			t.Errorf("warning %q lacks %q", msg, want)
		}
	}
}
