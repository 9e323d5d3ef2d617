package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
)

// withClock gives the service, the rotation function, the sweeper, the
// emulator and the simulator one clock, which Emulator.Advance moves.
func withClock(c *smemu.Clock) envOption {
	return func(o *devstack.Options) {
		o.Now = c.Now
		o.Emulator.Clock = c
		o.Simulator.Now = c.Now
	}
}

// patchCredentials replaces connection name's application key through the
// API and returns the answer.
func (e *env) patchCredentials(name, appKey string) connectionAnswer {
	e.t.Helper()
	r := e.do("PATCH", "/connections/"+name, `{"credentials":{"url":"https://api.us5.datadoghq.com","apiKey":"`+e.apiKey+`","applicationKey":"`+appKey+`"}}`)
	mustStatus(e.t, r, http.StatusOK)
	var c connectionAnswer
	r.json(e.t, &c)
	return c
}

// connectionAnswer is the part of a connection answer these tests read.
type connectionAnswer struct {
	OwnerID  string              `json:"ownerId"`
	Rotation rotationstate.State `json:"rotation"`
}

func pendingIDs(st rotationstate.State) []string {
	var ids []string
	for _, p := range st.PendingRevocations {
		ids = append(ids, p.KeyID)
	}
	return ids
}

// tags reads connection name's tags.
func (e *env) tags(name string) map[string]string {
	e.t.Helper()
	sec, err := e.Store.Describe(context.Background(), secretPrefix+name)
	if err != nil {
		e.t.Fatal(err)
	}
	return sec.Tags
}

// sweepAfter moves every clock forward by d and runs the sweeper once.
func (e *env) sweepAfter(d time.Duration) error {
	e.Emulator.Advance(d)
	_, err := e.Sweeper.Run(context.Background())
	return err
}

// TestOwnerChangeKeepsPendingRevocations rotates a connection so that its
// original key awaits revocation (after:1h), replaces the connection's
// credentials with a key of another owner, and runs the sweeper once the
// grace period is over. The retired key is revoked where the new key
// manages its owner (a service account); where it cannot (another user),
// the key stays recorded and the connection says what to do, and restoring
// a key of that owner lets the next sweep revoke it.
func TestOwnerChangeKeepsPendingRevocations(t *testing.T) {
	tests := []struct {
		name string
		// original and replacement pick the connection's first key and the
		// key PATCH puts in its place.
		original, replacement func(e *env) (key, ownerID string)
		// legacyRecord rewrites the retirement in the form written before
		// owners were recorded: PATCH must pin it to the replaced key's owner.
		legacyRecord bool
		// managed is true when the replacement key manages the original
		// key's owner, so the sweep revokes the original key.
		managed bool
	}{
		{name: "service account owner, revoked on its routes",
			original:    func(e *env) (string, string) { return e.rotatorKey, e.rotatorID },
			replacement: func(e *env) (string, string) { return e.adminKey, e.adminID },
			managed:     true},
		{name: "user owner, kept until a key of that owner returns",
			original:    func(e *env) (string, string) { return e.adminKey, e.adminID },
			replacement: func(e *env) (string, string) { return e.rotatorKey, e.rotatorID }},
		{name: "record without owner, pinned by the patch",
			original:     func(e *env) (string, string) { return e.adminKey, e.adminID },
			replacement:  func(e *env) (string, string) { return e.rotatorKey, e.rotatorID },
			legacyRecord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := smemu.NewClock(time.Now)
			e := newEnv(t, withRotation(), withClock(clock))
			origKey, origOwner := tt.original(e)
			newKey, newOwner := tt.replacement(e)
			mustStatus(t, e.do("POST", "/connections", e.createBody("c", origKey)), http.StatusCreated)
			origID := e.connection("c").ApplicationKeyID
			mustStatus(t, e.do("PUT", "/connections/c/rotation", `{"schedule":"rate(30 days)","rotateImmediately":false,"revokePrevious":"after:1h"}`), http.StatusOK)
			e.waitIdle()
			rotated := e.rotateNow("c")
			retireTag := secretkind.TagRetirePrefix + origID
			if e.tags("c")[retireTag] == "" || !e.authenticates(origKey) {
				t.Fatalf("after the rotation: want the original key %s pending revocation and still valid", origID)
			}
			if tt.legacyRecord {
				due, _, _ := strings.Cut(e.tags("c")[retireTag], " ")
				if err := e.Store.Tag(context.Background(), secretPrefix+"c", map[string]string{retireTag: due}); err != nil {
					t.Fatal(err)
				}
			}

			patched := e.patchCredentials("c", newKey)
			if patched.OwnerID != newOwner || !slices.Contains(pendingIDs(patched.Rotation), origID) || patched.Rotation.RevokePrevious != "after:1h" {
				t.Fatalf("PATCH answer: owner %s, rotation %+v; want owner %s and %s pending", patched.OwnerID, patched.Rotation, newOwner, origID)
			}
			if got := rotationstate.Retirements(e.tags("c")); len(got) != 1 || got[0].Owner.ID != origOwner {
				t.Errorf("after the PATCH the retirement is %+v, want it owned by %s", got, origOwner)
			}

			err := e.sweepAfter(2 * time.Hour)
			tags := e.tags("c")
			if tt.managed {
				if err != nil || e.authenticates(origKey) || tags[retireTag] != "" || tags[secretkind.TagLastWarning] != "" {
					t.Fatalf("sweep: err %v, original key valid %v, record %q, warning %q; want it revoked and forgotten",
						err, e.authenticates(origKey), tags[retireTag], tags[secretkind.TagLastWarning])
				}
			} else {
				var unrevocable *rotation.UnrevocableError
				warning := tags[secretkind.TagLastWarning]
				if tags[retireTag] == "" || !e.authenticates(origKey) {
					t.Fatalf("the unrevocable key %s: record %q, still valid %v; want both", origID, tags[retireTag], e.authenticates(origKey))
				}
				if !errors.As(err, &unrevocable) || unrevocable.KeyID != origID {
					t.Fatalf("sweep error = %v, want an UnrevocableError for %s", err, origID)
				}
				if !strings.Contains(warning, origID) || !strings.Contains(warning, "user "+origOwner) || !strings.Contains(warning, "revoke it by hand in Datadog") {
					t.Fatalf("last warning %q does not name the key, its owner and what to do", warning)
				}
				if st := e.connection("c").Rotation; !slices.Contains(pendingIDs(st), origID) || st.LastWarning != warning {
					t.Fatalf("GET rotation = %+v, want %s pending and the warning", st, origID)
				}

				// A key of the original owner comes back: the next sweep
				// revokes through it and clears the warning.
				e.patchCredentials("c", rotated.Key)
				err = e.sweepAfter(time.Minute)
				tags = e.tags("c")
				if err != nil || e.authenticates(origKey) || tags[retireTag] != "" || tags[secretkind.TagLastWarning] != "" {
					t.Fatalf("sweep after restoring: err %v, original key valid %v, record %q, warning %q",
						err, e.authenticates(origKey), tags[retireTag], tags[secretkind.TagLastWarning])
				}
			}
			if !e.authenticates(newKey) || !e.authenticates(rotated.Key) {
				t.Error("a key the connection still holds was revoked")
			}
			testkit.AssertNoKeyMaterial(t, e.logs.String(), append(e.secrets(), rotated.Key)...)
		})
	}
}
