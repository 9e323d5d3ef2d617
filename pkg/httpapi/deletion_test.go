package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// keyName is the name Datadog holds for application key id.
func (e *env) keyName(id string) string {
	e.t.Helper()
	for _, k := range e.Simulator.Keys() {
		if k.ID == id {
			return k.Name
		}
	}
	e.t.Fatalf("no application key %s", id)
	return ""
}

// TestKeysOfAConnectionDeletedOutsideDdconn: a connection whose secret is
// deleted for good outside ddconn (no recovery window) leaves no secret to
// find its keys through; the sweeper finds the keys ddconn minted for it
// through another connection with the same owner, and revokes them. Keys
// ddconn released (a forced delete with keepKeys) stay, and so do keys
// another ddconn deployment named the same way.
func TestKeysOfAConnectionDeletedOutsideDdconn(t *testing.T) {
	for _, viaDdconnKeepingKeys := range []bool{false, true} {
		t.Run(fmt.Sprint("viaDdconnKeepingKeys=", viaDdconnKeepingKeys), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, withRotation(), withClock(smemu.NewClock(time.Now)))
			survivorKey, _ := e.Simulator.AddAppKey(e.rotatorID, "survivor-key", fullScopes)
			mustStatus(t, e.do("POST", "/connections", e.createBody("survivor", survivorKey)), http.StatusCreated)
			mustStatus(t, e.do("PUT", "/connections/survivor/rotation", `{"schedule":"rate(30 days)","rotateImmediately":false}`), http.StatusOK)
			e.enabledConnection("gone", "next-rotation")
			rotated := e.rotateNow("gone")
			otherDeployment := secretkind.KeyScope("other/", "arn:aws:secretsmanager:eu-west-1:999999999999:secret:other/gone-AbCdEf")
			foreign, _ := e.Simulator.AddAppKey(e.rotatorID, secretkind.ConnectionName("gone").DatadogKeyName(otherDeployment, "t"), fullScopes)

			if viaDdconnKeepingKeys {
				mustStatus(t, e.do("DELETE", "/connections/gone?force=true&keepKeys=true", ""), http.StatusOK)
			} else if _, err := e.Store.Delete(ctx, secretPrefix+"gone", 0, true); err != nil {
				t.Fatal(err)
			}
			if err := e.sweepAfter(sweeper.DefaultMinAge); err != nil {
				t.Fatal(err)
			}
			if got := e.authenticates(rotated.Key); got != viaDdconnKeepingKeys {
				t.Fatalf("the rotated key of the deleted connection authenticates: %v, want %v", got, viaDdconnKeepingKeys)
			}
			if !e.authenticates(foreign) || !e.authenticates(survivorKey) {
				t.Fatalf("another deployment's key works %v, the surviving connection's %v; want both",
					e.authenticates(foreign), e.authenticates(survivorKey))
			}
			if viaDdconnKeepingKeys && !strings.HasPrefix(e.keyName(rotated.KeyID), "released-") {
				t.Fatalf("the kept key is named %q, want it released", e.keyName(rotated.KeyID))
			}
		})
	}
}

// TestForcingAScheduledDeletionRevokesTheKeys: a connection scheduled for
// deletion, then deleted at once, has its minted keys revoked by the
// second call (its secret is restored to read them, then deleted).
func TestForcingAScheduledDeletionRevokesTheKeys(t *testing.T) {
	e := newEnv(t, withRotation())
	e.enabledConnection("twice", "next-rotation")
	rotated := e.rotateNow("twice")
	mustStatus(t, e.do("DELETE", "/connections/twice", ""), http.StatusOK)
	r := e.do("DELETE", "/connections/twice?force=true", "")
	mustStatus(t, r, http.StatusOK)
	var d connection.Deletion
	r.json(t, &d)
	if e.authenticates(rotated.Key) || !slices.Contains(d.RevokedKeyIDs, rotated.KeyID) {
		t.Fatalf("rotated key still works %v; revoked %v, want %s among them", e.authenticates(rotated.Key), d.RevokedKeyIDs, rotated.KeyID)
	}
	if _, err := e.Store.Describe(context.Background(), secretPrefix+"twice"); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("the connection's secret is still there: %v", err)
	}
}

// TestScheduledDeletionWithKeepKeysReleasesTheKeys: a connection deleted
// with a recovery window and keepKeys keeps its keys working after the
// window: the sweeper releases them (renamed out of ddconn's names) instead
// of revoking them, and deletes the secret.
func TestScheduledDeletionWithKeepKeysReleasesTheKeys(t *testing.T) {
	e := newEnv(t, withRotation(), withClock(smemu.NewClock(time.Now)))
	e.enabledConnection("kept", "next-rotation")
	rotated := e.rotateNow("kept")
	mustStatus(t, e.do("DELETE", "/connections/kept?keepKeys=true", ""), http.StatusOK)
	if err := e.sweepAfter(7*24*time.Hour - time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Describe(context.Background(), secretPrefix+"kept"); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("the connection's secret is still there: %v", err)
	}
	if !e.authenticates(rotated.Key) || !e.authenticates(e.rotatorKey) {
		t.Fatalf("after the window: rotated key works %v, original %v; want both kept",
			e.authenticates(rotated.Key), e.authenticates(e.rotatorKey))
	}
	if name := e.keyName(rotated.KeyID); !strings.HasPrefix(name, "released-") {
		t.Fatalf("the kept key is named %q, want it released", name)
	}
}

// TestKeepKeysNeedsNoListing: a connection whose key may not list its
// owner's keys is deleted at once with keepKeys (nothing to release: no
// sweep could list them through it); without keepKeys the revocation
// cannot happen, and the refusal says to keep the keys.
func TestKeepKeysNeedsNoListing(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("limited", e.limitedKey)), http.StatusCreated)
	r := e.do("DELETE", "/connections/limited?force=true", "")
	var env errorEnvelope
	r.json(t, &env)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(env.Error.Message, "keepKeys=true") {
		t.Fatalf("forced delete of a key that cannot list keys = %d %+v, want 422 pointing to keepKeys", r.status, env.Error)
	}
	mustStatus(t, e.do("DELETE", "/connections/limited?force=true&keepKeys=true", ""), http.StatusOK)
	if !e.authenticates(e.limitedKey) {
		t.Fatal("the kept key was revoked")
	}
}

// TestSettingsVersionOutlivesRotations: the settings version of a
// connection (a long allowedServiceAccounts) is not taken for a key
// document by rotations or the sweeper, and survives them.
func TestSettingsVersionOutlivesRotations(t *testing.T) {
	e := newEnv(t, withRotation(), withClock(smemu.NewClock(time.Now)))
	e.enabledConnection("set", "next-rotation")
	body, _ := json.Marshal(map[string][]string{"allowedServiceAccounts": manyServiceAccounts(50)})
	mustStatus(t, e.do("PATCH", "/connections/set", string(body)), http.StatusOK)
	e.rotateNow("set")
	second := e.rotateNow("set")
	if err := e.sweepAfter(sweeper.DefaultMinAge); err != nil {
		t.Fatal(err)
	}
	c := e.connection("set")
	// next-rotation: the second rotation revoked the original key.
	if len(c.AllowedServiceAccounts) != 50 || c.Rotation.LastError != "" || !e.authenticates(second.Key) || e.authenticates(e.rotatorKey) {
		t.Fatalf("after two rotations and a sweep: %d allowed, last error %q, current works %v, original works %v",
			len(c.AllowedServiceAccounts), c.Rotation.LastError, e.authenticates(second.Key), e.authenticates(e.rotatorKey))
	}
}
