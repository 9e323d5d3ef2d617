package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

const secretPrefix = "ddconn/connections/"

// waitIdle waits until the emulator has no rotation running or queued.
func (e *env) waitIdle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Emulator.WaitIdle(ctx); err != nil {
		e.t.Fatalf("waiting for the rotation: %v", err)
	}
}

// currentDocument reads the AWSCURRENT document of connection name.
func (e *env) currentDocument(name string) secretkind.Document {
	e.t.Helper()
	v, err := e.Store.Get(context.Background(), secretPrefix+name, "", secretstore.Current)
	if err != nil {
		e.t.Fatal(err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// connection reads connection name through the API.
func (e *env) connection(name string) connection.Connection {
	e.t.Helper()
	r := e.do("GET", "/connections/"+name, "")
	mustStatus(e.t, r, http.StatusOK)
	var c connection.Connection
	r.json(e.t, &c)
	return c
}

// authenticates reports whether the simulator accepts an application key
// with the org's API key. Keys never reach the test's output.
func (e *env) authenticates(appKey string) bool { return e.Simulator.Authenticates(e.apiKey, appKey) }

// TestRotationEndToEnd enables rotation, rotates twice through the API and
// checks the keys at the simulator: after the first rotation the new key
// and the user's key both work; the second revokes the user's key (the
// default next-rotation policy) and keeps the first rotation's key.
func TestRotationEndToEnd(t *testing.T) {
	e := newEnv(t, withRotation())
	mustStatus(t, e.do("POST", "/connections", e.createBody("rot", e.rotatorKey)), http.StatusCreated)
	originalID := e.connection("rot").ApplicationKeyID

	r := e.do("PUT", "/connections/rot/rotation", `{"schedule":"rate(30 days)","window":"2h","rotateImmediately":false,"revokePrevious":"next-rotation"}`)
	mustStatus(t, r, http.StatusOK)
	var enabled connection.Connection
	r.json(t, &enabled)
	want := rotationstate.State{Enabled: true, Schedule: "rate(30 days)", Window: "2h", RevokePrevious: "next-rotation", CurrentKeyID: originalID}
	if got := enabled.Rotation; got.Enabled != want.Enabled || got.Schedule != want.Schedule || got.Window != want.Window ||
		got.RevokePrevious != want.RevokePrevious || got.CurrentKeyID != want.CurrentKeyID || got.NextRotationAt == nil {
		t.Fatalf("rotation after PUT = %+v, want %+v and a next rotation date", got, want)
	}
	e.waitIdle()
	if doc := e.currentDocument("rot"); doc.KeyID != originalID {
		t.Fatalf("rotateImmediately=false rotated the key (current id %s)", doc.KeyID)
	}

	first := e.rotateNow("rot")
	if first.KeyID == originalID || !e.authenticates(first.Key) || !e.authenticates(e.rotatorKey) {
		t.Fatalf("after rotation 1: new key id %s (original %s), new works %v, original works %v",
			first.KeyID, originalID, e.authenticates(first.Key), e.authenticates(e.rotatorKey))
	}
	rot := e.connection("rot").Rotation
	if rot.CurrentKeyID != first.KeyID || rot.PreviousKeyID != originalID || rot.LastRotatedAt == nil || rot.LastError != "" || rot.InProgress {
		t.Fatalf("rotation block after rotation 1 = %+v", rot)
	}

	second := e.rotateNow("rot")
	if !e.authenticates(second.Key) || !e.authenticates(first.Key) {
		t.Fatal("after rotation 2 the current or the previous key does not authenticate")
	}
	if e.authenticates(e.rotatorKey) {
		t.Fatal("after rotation 2 the user's original key still authenticates")
	}
	rot = e.connection("rot").Rotation
	if rot.CurrentKeyID != second.KeyID || rot.PreviousKeyID != first.KeyID || len(rot.PendingRevocations) != 1 ||
		rot.PendingRevocations[0].KeyID != first.KeyID {
		t.Fatalf("rotation block after rotation 2 = %+v", rot)
	}
}

// rotateAnswer posts a rotate-now request and decodes its 202.
func (e *env) rotateAnswer(name string) connection.RotationStarted {
	e.t.Helper()
	r := e.do("POST", "/connections/"+name+"/rotate", "")
	mustStatus(e.t, r, http.StatusAccepted)
	var started connection.RotationStarted
	r.json(e.t, &started)
	return started
}

// rotateNow starts a rotation, waits for it and returns the new current
// document.
func (e *env) rotateNow(name string) secretkind.Document {
	e.t.Helper()
	started := e.rotateAnswer(name)
	e.waitIdle()
	sec, err := e.Store.Describe(context.Background(), secretPrefix+name)
	if err != nil {
		e.t.Fatal(err)
	}
	if current, _ := sec.CurrentVersion(); started.VersionID == "" || current != started.VersionID {
		e.t.Fatalf("the rotation to version %q did not complete (AWSCURRENT is %q, last error %q)",
			started.VersionID, current, sec.Tags[secretkind.TagLastError])
	}
	return e.currentDocument(name)
}

// TestRotationStatuses checks each refusal of the rotation routes: its
// status, code and the field it names.
func TestRotationStatuses(t *testing.T) {
	e := newEnv(t, withRotation())
	mustStatus(t, e.do("POST", "/connections", e.createBody("rot", e.rotatorKey)), http.StatusCreated)
	mustStatus(t, e.do("POST", "/connections", e.createBody("lim", e.limitedKey)), http.StatusCreated)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		fields                   []string // the details' fields, in order
		message                  string   // a part of the message or of the first detail
	}{
		{"rotate before enabling", "POST", "/connections/rot/rotate", "", 409, httpapi.CodeRotationNotEnabled, nil, "PUT /connections/rot/rotation"},
		{"key lacks user_app_keys", "PUT", "/connections/lim/rotation", `{"schedule":"rate(30 days)"}`, 400, httpapi.CodeInvalidRequest,
			[]string{"capabilities.rotateOwnKey"}, "user_app_keys"},
		{"schedule missing", "PUT", "/connections/rot/rotation", `{"window":"2h"}`, 400, httpapi.CodeInvalidRequest, []string{"schedule"}, "required"},
		{"rate too short", "PUT", "/connections/rot/rotation", `{"schedule":"rate(2 hours)"}`, 400, httpapi.CodeInvalidRequest, []string{"schedule"}, "4 to"},
		{"cron with minutes", "PUT", "/connections/rot/rotation", `{"schedule":"cron(15 4 ? * MON *)"}`, 400, httpapi.CodeInvalidRequest, []string{"schedule"}, "minutes"},
		{"window too long", "PUT", "/connections/rot/rotation", `{"schedule":"rate(1 day)","window":"30h"}`, 400, httpapi.CodeInvalidRequest, []string{"window"}, "hours"},
		{"bad policy", "PUT", "/connections/rot/rotation", `{"schedule":"rate(1 day)","revokePrevious":"never"}`, 400, httpapi.CodeInvalidRequest, []string{"revokePrevious"}, "next-rotation"},
		{"everything bad", "PUT", "/connections/rot/rotation", `{"schedule":"weekly","window":"2","revokePrevious":"after:1s"}`, 400, httpapi.CodeInvalidRequest,
			[]string{"schedule", "revokePrevious"}, "rate("},
		{"maxGrace of another policy", "PUT", "/connections/rot/rotation", `{"schedule":"rate(1 day)","revokePrevious":"after:1h","maxGrace":"2h"}`, 400, httpapi.CodeInvalidRequest, []string{"maxGrace"}, "when-unused"},
		{"quiet period longer than maxGrace", "PUT", "/connections/rot/rotation", `{"schedule":"rate(1 day)","revokePrevious":"when-unused","maxGrace":"2h","quietPeriod":"3h"}`, 400, httpapi.CodeInvalidRequest, []string{"quietPeriod"}, "maxGrace"},
		{"unknown field", "PUT", "/connections/rot/rotation", `{"schedule":"rate(1 day)","interval":"1d"}`, 400, httpapi.CodeInvalidRequest, []string{"body"}, "not a known field"},
		{"wrong type", "PUT", "/connections/rot/rotation", `{"schedule":"rate(1 day)","rotateImmediately":"no"}`, 400, httpapi.CodeInvalidRequest, []string{"rotateImmediately"}, "true or false"},
		{"enable absent", "PUT", "/connections/absent/rotation", `{"schedule":"rate(1 day)"}`, 404, httpapi.CodeNotFound, nil, "absent"},
		{"disable absent", "DELETE", "/connections/absent/rotation", "", 404, httpapi.CodeNotFound, nil, "absent"},
		{"rotate absent", "POST", "/connections/absent/rotate", "", 404, httpapi.CodeNotFound, nil, "absent"},
		{"bad name", "POST", "/connections/Bad/rotate", "", 400, httpapi.CodeInvalidRequest, []string{"name"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body)
			mustStatus(t, r, tt.status)
			var env errorEnvelope
			r.json(t, &env)
			var fields []string
			for _, d := range env.Error.Details {
				fields = append(fields, d.Field)
			}
			text := env.Error.Message
			if len(env.Error.Details) > 0 {
				text = env.Error.Details[0].Message
			}
			if env.Error.Code != tt.code || strings.Join(fields, ",") != strings.Join(tt.fields, ",") || !strings.Contains(text, tt.message) {
				t.Fatalf("answer %s, want code %s, fields %v and %q in the message", r.body, tt.code, tt.fields, tt.message)
			}
		})
	}
	// None of the refusals changed anything.
	if rot := e.connection("rot").Rotation; rot.Enabled || rot.Schedule != "" {
		t.Fatalf("a refused request changed the rotation: %+v", rot)
	}
}

// TestRotationNotConfigured: without a rotation function, PUT …/rotation
// says so.
func TestRotationNotConfigured(t *testing.T) {
	e := newEnv(t)
	mustStatus(t, e.do("POST", "/connections", e.createBody("rot", e.rotatorKey)), http.StatusCreated)
	r := e.do("PUT", "/connections/rot/rotation", `{"schedule":"rate(30 days)"}`)
	mustStatus(t, r, http.StatusServiceUnavailable)
	var env errorEnvelope
	r.json(t, &env)
	if env.Error.Code != httpapi.CodeRotationUnavailable || !strings.Contains(env.Error.Message, "not configured") {
		t.Fatalf("answer %s", r.body)
	}
}

// TestIncompleteRotationBlocksUntilDisabled leaves a rotation incomplete
// (Datadog refuses to create keys until the emulator gives up), checks that
// it blocks new settings with 409 and that rotate-now resumes it rather
// than starting another, then that DELETE …/rotation clears its
// AWSPENDING label, so rotation works again once Datadog recovers.
func TestIncompleteRotationBlocksUntilDisabled(t *testing.T) {
	e := newEnv(t, withRotation())
	mustStatus(t, e.do("POST", "/connections", e.createBody("rot", e.rotatorKey)), http.StatusCreated)
	originalID := e.connection("rot").ApplicationKeyID
	e.Simulator.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Status: 500, Count: 1000})

	mustStatus(t, e.do("PUT", "/connections/rot/rotation", `{"schedule":"rate(30 days)"}`), http.StatusOK)
	e.waitIdle() // every attempt failed; the emulator gave up
	rot := e.connection("rot").Rotation
	if !rot.InProgress || rot.LastError == "" {
		t.Fatalf("rotation after failed attempts = %+v, want in progress with an error", rot)
	}
	r := e.do("PUT", "/connections/rot/rotation", `{"schedule":"rate(30 days)"}`)
	mustStatus(t, r, http.StatusConflict)
	var env errorEnvelope
	if r.json(t, &env); env.Error.Code != httpapi.CodeRotationInProgress {
		t.Fatalf("PUT …/rotation during an incomplete rotation: %s", r.body)
	}
	if started := e.rotateAnswer("rot"); !started.Resumed {
		t.Fatalf("POST …/rotate during an incomplete rotation = %+v, want it resumed", started)
	}
	e.waitIdle() // the resumed attempts fail too

	r = e.do("DELETE", "/connections/rot/rotation", "")
	mustStatus(t, r, http.StatusOK)
	var disabled connection.Connection
	r.json(t, &disabled)
	if disabled.Rotation.Enabled || disabled.Rotation.InProgress || disabled.Rotation.NextRotationAt != nil {
		t.Fatalf("rotation after DELETE = %+v", disabled.Rotation)
	}
	sec, err := e.Store.Describe(context.Background(), secretPrefix+"rot")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := sec.VersionWith(secretstore.Pending); ok {
		t.Fatalf("AWSPENDING still on version %s: %v", v, sec.Versions)
	}
	mustStatus(t, e.do("DELETE", "/connections/rot/rotation", ""), http.StatusOK) // idempotent

	e.Simulator.ClearFaults()
	mustStatus(t, e.do("PUT", "/connections/rot/rotation", `{"schedule":"rate(30 days)"}`), http.StatusOK)
	e.waitIdle()
	if doc := e.currentDocument("rot"); doc.KeyID == originalID || !e.authenticates(doc.Key) {
		t.Fatalf("rotation after re-enabling did not complete (current key id %s)", doc.KeyID)
	}
}

// TestRevokePolicyReachesTheRotationFunction: PUT …/rotation stores the
// policy under the tag, and in the form, that package rotation reads.
func TestRevokePolicyReachesTheRotationFunction(t *testing.T) {
	e := newEnv(t, withRotation())
	mustStatus(t, e.do("POST", "/connections", e.createBody("rot", e.rotatorKey)), http.StatusCreated)
	mustStatus(t, e.do("PUT", "/connections/rot/rotation", `{"schedule":"7","rotateImmediately":false,"revokePrevious":"after:7d"}`), http.StatusOK)
	e.waitIdle()
	sec, err := e.Store.Describe(context.Background(), secretPrefix+"rot")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rotationstate.ParseRevokePolicy("after:7d")
	if got := rotationstate.StateOf(sec).RevokePrevious; got != want.String() || sec.Rules.AutomaticallyAfterDays != 7 {
		t.Fatalf("stored policy %q and rules %+v, want %q and 7 days", got, sec.Rules, want.String())
	}
	if got := e.connection("rot").Rotation.RevokePrevious; got != want.String() {
		t.Fatalf("rotation block shows %q", got)
	}
}

// TestRotationWhenUnusedSettings: PUT …/rotation takes the when-unused
// policy with its maxGrace and quiet period, and the connection shows them.
func TestRotationWhenUnusedSettings(t *testing.T) {
	e := newEnv(t, withRotation())
	mustStatus(t, e.do("POST", "/connections", e.createBody("wu", e.rotatorKey)), http.StatusCreated)
	r := e.do("PUT", "/connections/wu/rotation", `{"schedule":"rate(30 days)","rotateImmediately":false,"revokePrevious":"when-unused","maxGrace":"3d","quietPeriod":"2h"}`)
	mustStatus(t, r, http.StatusOK)
	e.waitIdle()
	rot := e.connection("wu").Rotation
	if rot.RevokePrevious != "when-unused" || rot.MaxGrace != "72h" || rot.QuietPeriod != "2h" {
		t.Fatalf("rotation block %+v, want when-unused with maxGrace 72h and quietPeriod 2h", rot)
	}
	mustStatus(t, e.do("PUT", "/connections/wu/rotation", `{"schedule":"rate(30 days)","rotateImmediately":false,"revokePrevious":"after:1h"}`), http.StatusOK)
	if rot := e.connection("wu").Rotation; rot.RevokePrevious != "after:1h" || rot.MaxGrace != "" || rot.QuietPeriod != "" {
		t.Fatalf("rotation block %+v, want after:1h without the when-unused parameters", rot)
	}
}
