package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// enabledConnection creates connection name on the rotator's key and
// enables its rotation without rotating.
func (e *env) enabledConnection(name, policy string) string {
	e.t.Helper()
	mustStatus(e.t, e.do("POST", "/connections", e.createBody(name, e.rotatorKey)), http.StatusCreated)
	mustStatus(e.t, e.do("PUT", "/connections/"+name+"/rotation",
		`{"schedule":"rate(30 days)","rotateImmediately":false,"revokePrevious":"`+policy+`"}`), http.StatusOK)
	e.waitIdle()
	return e.connection(name).ApplicationKeyID
}

// TestRotateNowResumesAStoppedRotation: a rotation whose every attempt
// failed stays incomplete once Secrets Manager's retries are spent; rotate
// now resumes it (202, resumed, the same version), and it completes.
func TestRotateNowResumesAStoppedRotation(t *testing.T) {
	e := newEnv(t, withRotation(), func(o *devstack.Options) { o.Emulator.MaxAttempts = 2 })
	e.enabledConnection("stuck", "next-rotation")
	e.Simulator.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Status: 500, Count: 1000})
	first := e.rotateAnswer("stuck")
	e.waitIdle()
	if rot := e.connection("stuck").Rotation; !rot.InProgress || rot.LastError == "" {
		t.Fatalf("after the failed attempts: %+v, want an incomplete rotation with its error", rot)
	}
	e.Simulator.ClearFaults()

	again := e.rotateAnswer("stuck")
	if !again.Resumed || again.VersionID != first.VersionID {
		t.Fatalf("rotate now on the stopped rotation = %+v, want the rotation %s resumed", again, first.VersionID)
	}
	e.waitIdle()
	sec, err := e.Store.Describe(context.Background(), secretPrefix+"stuck")
	if err != nil {
		t.Fatal(err)
	}
	if current, _ := sec.CurrentVersion(); current != first.VersionID || sec.Tags[secretkind.TagLastError] != "" {
		t.Fatalf("after resuming: AWSCURRENT %s (want %s), last error %q", current, first.VersionID, sec.Tags[secretkind.TagLastError])
	}
}

// TestConcurrentRotateNowShareOneRotation: twenty requests at once start
// one rotation, and every one of them is answered with it.
func TestConcurrentRotateNowShareOneRotation(t *testing.T) {
	e := newEnv(t, withRotation())
	original := e.enabledConnection("burst", "next-rotation")
	// Slow key creation down so the requests overlap the rotation.
	e.Simulator.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Delay: 300 * time.Millisecond, Count: 1})
	const n = 20
	versions := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r := e.do("POST", "/connections/burst/rotate", "")
			var started connection.RotationStarted
			if r.status == http.StatusAccepted {
				r.json(t, &started)
			}
			versions <- fmt.Sprint(r.status, " ", started.VersionID)
		})
	}
	wg.Wait()
	close(versions)
	seen := map[string]int{}
	for v := range versions {
		seen[v]++
	}
	if len(seen) != 1 {
		t.Fatalf("answers %v, want every request answered 202 with one version", seen)
	}
	e.waitIdle()
	rot := e.connection("burst").Rotation
	if rot.PreviousKeyID != original || rot.LastError != "" {
		t.Fatalf("rotation block %+v: want one rotation, replacing the original key %s", rot, original)
	}
}

// TestRotateNowTooSoon refuses a rotation before the minimum interval
// since the last one, saying from when it is possible.
func TestRotateNowTooSoon(t *testing.T) {
	e := newEnv(t, withRotation(), func(o *devstack.Options) { o.MinRotateInterval = time.Hour })
	e.enabledConnection("soon", "next-rotation")
	e.rotateNow("soon")
	r := e.do("POST", "/connections/soon/rotate", "")
	var env errorEnvelope
	r.json(t, &env)
	if r.status != http.StatusConflict || env.Error.Code != httpapi.CodeRotationTooSoon || !strings.Contains(env.Error.Message, "possible from") {
		t.Fatalf("second rotate now = %d %+v, want 409 %s saying from when", r.status, env.Error, httpapi.CodeRotationTooSoon)
	}
}

// TestRotateNowRefusesAtTheRetirementLimit: with as many retired keys
// awaiting revocation as a rotation may leave, rotate now is refused up
// front - no rotation starts, so none fails half-way - and the answer says
// when the first retired key is due.
func TestRotateNowRefusesAtTheRetirementLimit(t *testing.T) {
	e := newEnv(t, withRotation())
	e.enabledConnection("full", "after:30d")
	due := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	tags := map[string]string{}
	for i := range 20 {
		tags[fmt.Sprintf("%s00000000-0000-4000-8000-%012d", secretkind.TagRetirePrefix, i)] = due.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
	}
	if err := e.Store.Tag(context.Background(), secretPrefix+"full", tags); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/connections/full/rotate", "")
	var env errorEnvelope
	r.json(t, &env)
	if r.status != http.StatusConflict || env.Error.Code != httpapi.CodeRotationTooSoon || !strings.Contains(env.Error.Message, due.Format(time.RFC3339)) {
		t.Fatalf("rotate now at the limit = %d %+v, want 409 %s naming %s", r.status, env.Error, httpapi.CodeRotationTooSoon, due.Format(time.RFC3339))
	}
	e.waitIdle()
	sec, err := e.Store.Describe(context.Background(), secretPrefix+"full")
	if err != nil {
		t.Fatal(err)
	}
	if _, pending := sec.VersionWith(secretstore.Pending); pending || sec.Tags[secretkind.TagLastError] != "" {
		t.Fatalf("a rotation started anyway (pending %v, last error %q)", pending, sec.Tags[secretkind.TagLastError])
	}
}

// TestForcedDeleteRevokesMintedKeys: a forced delete revokes every key
// ddconn minted for the connection - the keys of its rotations, the
// current one included, and the retired key awaiting revocation (here the
// user's original) - and keepKeys leaves them.
func TestForcedDeleteRevokesMintedKeys(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keepKeys=", keep), func(t *testing.T) {
			e := newEnv(t, withRotation())
			e.enabledConnection("doomed", "after:30d")
			first := e.rotateNow("doomed")
			second := e.rotateNow("doomed")
			if !e.authenticates(e.rotatorKey) || !e.authenticates(first.Key) || !e.authenticates(second.Key) {
				t.Fatal("before the delete, a key does not authenticate")
			}
			r := e.do("DELETE", fmt.Sprintf("/connections/doomed?force=true&keepKeys=%v", keep), "")
			mustStatus(t, r, http.StatusOK)
			var d connection.Deletion
			r.json(t, &d)
			alive := []bool{e.authenticates(e.rotatorKey), e.authenticates(first.Key), e.authenticates(second.Key)}
			for i, a := range alive {
				if a != keep {
					t.Fatalf("after the delete (keepKeys %v): key %d authenticates %v (all: %v), revoked %v", keep, i, a, alive, d.RevokedKeyIDs)
				}
			}
		})
	}
}

// TestSharedKeyIsNeverRotatedOrRevoked: a connection created from a key
// another connection already holds is accepted with a warning naming it;
// neither may then rotate it (409 key_shared, naming the other); and a key
// retired by an earlier rotation of one connection is not revoked while
// another connection holds it.
func TestSharedKeyIsNeverRotatedOrRevoked(t *testing.T) {
	clock := smemu.NewClock(time.Now)
	e := newEnv(t, withRotation(), withClock(clock))
	e.enabledConnection("first", "after:1h")

	r := e.do("POST", "/connections", e.createBody("second", e.rotatorKey))
	mustStatus(t, r, http.StatusCreated)
	var second connection.Connection
	r.json(t, &second)
	if !slices.ContainsFunc(second.Warnings, func(w string) bool { return strings.Contains(w, "first") }) {
		t.Fatalf("warnings %q, want one naming connection first", second.Warnings)
	}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/connections/first/rotate", ""},
		{"PUT", "/connections/second/rotation", `{"schedule":"rate(30 days)"}`},
	} {
		r := e.do(req.method, req.path, req.body)
		var env errorEnvelope
		r.json(t, &env)
		if r.status != http.StatusConflict || env.Error.Code != httpapi.CodeKeyShared {
			t.Fatalf("%s %s = %d %+v, want 409 %s", req.method, req.path, r.status, env.Error, httpapi.CodeKeyShared)
		}
	}

	// A key that was first's, retired by its rotation, then stored in a
	// third connection, outlives the grace period.
	mustStatus(t, e.do("DELETE", "/connections/second?force=true&keepKeys=true", ""), http.StatusOK)
	e.rotateNow("first")
	mustStatus(t, e.do("POST", "/connections", e.createBody("third", e.rotatorKey)), http.StatusCreated)
	if err := e.sweepAfter(2 * time.Hour); err == nil {
		t.Fatal("the sweep reported no revocation held back")
	}
	if !e.authenticates(e.rotatorKey) {
		t.Fatal("the retired key was revoked although connection third holds it")
	}
}

// TestDeleteWithRecoveryWindowRevokesAtItsEnd: a connection deleted with a
// recovery window keeps its keys working while it can be restored; in the
// window's last hours the sweeper restores it, revokes the keys ddconn
// minted for it and deletes it. A connection restored in time keeps them.
func TestDeleteWithRecoveryWindowRevokesAtItsEnd(t *testing.T) {
	for _, restore := range []bool{false, true} {
		t.Run(fmt.Sprint("restored=", restore), func(t *testing.T) {
			clock := smemu.NewClock(time.Now)
			e := newEnv(t, withRotation(), withClock(clock))
			e.enabledConnection("windowed", "next-rotation")
			rotated := e.rotateNow("windowed")
			mustStatus(t, e.do("DELETE", "/connections/windowed", ""), http.StatusOK)

			if err := e.sweepAfter(24 * time.Hour); err != nil {
				t.Fatal(err)
			}
			if !e.authenticates(rotated.Key) || !e.authenticates(e.rotatorKey) {
				t.Fatal("a key was revoked while the connection could still be restored")
			}
			if restore {
				if err := e.Store.Restore(context.Background(), secretPrefix+"windowed"); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.sweepAfter(6*24*time.Hour - time.Hour); err != nil {
				t.Fatal(err)
			}
			revoked := !e.authenticates(rotated.Key) && !e.authenticates(e.rotatorKey)
			alive := e.authenticates(rotated.Key) && e.authenticates(e.rotatorKey)
			if restore && !alive || !restore && !revoked {
				t.Fatalf("after the window (restored %v): rotated key works %v, original works %v",
					restore, e.authenticates(rotated.Key), e.authenticates(e.rotatorKey))
			}
			if _, err := e.Store.Describe(context.Background(), secretPrefix+"windowed"); !restore && !errors.Is(err, secretstore.ErrNotFound) {
				t.Fatalf("the deleted connection's secret is still there: %v", err)
			}
		})
	}
}
