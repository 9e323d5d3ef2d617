package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// TestRollbackRoute: POST …/rotation/rollback after a rotation answers the
// connection with its original key current again, the key working, and
// Rotation Rolled Back on the bus; refusals are 409 with what to do.
func TestRollbackRoute(t *testing.T) {
	e := newEnv(t, withRotation())
	mustStatus(t, e.do("POST", "/connections/rb/rotation/rollback", ""), http.StatusNotFound)
	original := e.enabledConnection("rb", "next-rotation")

	r := e.do("POST", "/connections/rb/rotation/rollback", "")
	mustStatus(t, r, http.StatusConflict)
	assertCode(t, r, httpapi.CodeNothingToRollBack, "rotated")

	first := e.rotateNow("rb")
	r = e.do("POST", "/connections/rb/rotation/rollback", "")
	mustStatus(t, r, http.StatusOK)
	var c connection.Connection
	r.json(t, &c)
	if c.ApplicationKeyID != original || c.Rotation.CurrentKeyID != original || c.Rotation.PreviousKeyID != first.KeyID {
		t.Fatalf("after the rollback: key %s, rotation %+v; want %s current and %s previous", c.ApplicationKeyID, c.Rotation, original, first.KeyID)
	}
	if doc := e.currentDocument("rb"); doc.KeyID != original || !e.authenticates(doc.Key) {
		t.Fatal("AWSCURRENT does not hold the original, working key")
	}
	events := e.Bus.EventsOf("ddconn", rotation.RolledBackEvent)
	if len(events) != 1 || !strings.Contains(string(events[0].Detail), `"keyId":"`+original+`"`) {
		t.Fatalf("Rotation Rolled Back events %v", events)
	}
	testkit.AssertNoKeyMaterial(t, string(events[0].Detail), e.secrets()...)

	// Under "immediately" the previous key is gone: 409, and nothing moves.
	mustStatus(t, e.do("PUT", "/connections/rb/rotation", `{"schedule":"rate(30 days)","rotateImmediately":false,"revokePrevious":"immediately"}`), http.StatusOK)
	e.waitIdle()
	e.rotateNow("rb")
	before := e.connection("rb").Rotation
	r = e.do("POST", "/connections/rb/rotation/rollback", "")
	mustStatus(t, r, http.StatusConflict)
	assertCode(t, r, httpapi.CodePreviousKeyRevoked, "POST /connections/rb/rotate")
	if after := e.connection("rb").Rotation; after.CurrentKeyID != before.CurrentKeyID || after.PreviousKeyID != before.PreviousKeyID {
		t.Errorf("a refused rollback changed the keys: %+v → %+v", before, after)
	}
}

// TestRollbackRouteManagedAPIKey rolls a managed API key back.
func TestRollbackRouteManagedAPIKey(t *testing.T) {
	e := newEnv(t, withRotation())
	mgr := e.Simulator.AddUser(e.orgID, ddsim.UserSpec{Name: "platform", Permissions: keyManagerPermissions})
	managerKey, _ := e.Simulator.AddAppKey(mgr, "platform-key", nil)
	mustStatus(t, e.do("POST", "/connections", e.createBody("keys", managerKey)), http.StatusCreated)
	r := e.do("POST", "/connections/keys/api-keys", `{"name":"agent"}`)
	mustStatus(t, r, http.StatusCreated)
	var minted managedkey.APIKey
	r.json(t, &minted)
	e.waitIdle()
	mustStatus(t, e.do("POST", "/connections/keys/api-keys/agent/rotation/rollback", ""), http.StatusConflict)
	mustStatus(t, e.do("POST", "/connections/keys/api-keys/absent/rotation/rollback", ""), http.StatusNotFound)

	if _, err := e.Store.Rotate(context.Background(), minted.SecretARN, secretstore.RotateInput{}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	r = e.do("POST", "/connections/keys/api-keys/agent/rotation/rollback", "")
	mustStatus(t, r, http.StatusOK)
	var back managedkey.APIKey
	r.json(t, &back)
	v, err := e.Store.Get(context.Background(), minted.SecretARN, "", secretstore.Current)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := secretkind.APIKey.Parse(v.Value)
	if err != nil {
		t.Fatal(err)
	}
	if back.APIKeyID != minted.APIKeyID || doc.KeyID != minted.APIKeyID || !e.Simulator.Authenticates(doc.Key, managerKey) {
		t.Fatalf("after the rollback the object shows %s and the secret holds %s; want the minted %s, working", back.APIKeyID, doc.KeyID, minted.APIKeyID)
	}
}

// assertCode checks an error answer's code and that its message says want.
func assertCode(t *testing.T, r response, code, want string) {
	t.Helper()
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	if env.Error.Code != code || !strings.Contains(env.Error.Message, want) {
		t.Errorf("error %+v, want code %s and a message saying %q", env.Error, code, want)
	}
}
