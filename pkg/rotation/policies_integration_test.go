package rotation_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestRevokeImmediately(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("imm", connOptions{policy: "immediately", scopes: matrixScopes})
	for n := 1; n <= 2; n++ {
		st.rotate(c)
		cur, prev := st.doc(c, secretstore.Current), st.doc(c, secretstore.Previous)
		if !st.authenticates(cur) || st.authenticates(prev) {
			t.Fatalf("rotation %d: current works %v, previous works %v; want true, false", n, st.authenticates(cur), st.authenticates(prev))
		}
		if keys := st.ownerKeyIDs(c); !slices.Equal(keys, []string{cur.KeyID}) {
			t.Errorf("rotation %d: keys %v, want only the current one", n, keys)
		}
		if state := rotationstate.StateOf(st.describe(c)); len(state.PendingRevocations) != 0 {
			t.Errorf("rotation %d: pending revocations %+v", n, state.PendingRevocations)
		}
	}
}

// TestRevokeAfterGracePeriod: with after:24h each demoted key keeps working
// for 24 hours, even once later rotations make it unlabelled (the sweeper
// must not take it for an orphan), and the sweeper revokes each key when
// its own grace period ends, even while AWSPREVIOUS still holds it.
func TestRevokeAfterGracePeriod(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("grace", connOptions{policy: "after:24h", scopes: matrixScopes})
	gens := []secretkind.Document{st.doc(c, secretstore.Current)}
	for n := 1; n <= 3; n++ { // at 0h, 1h and 2h
		if n > 1 {
			st.sweepAfter(time.Hour)
		}
		st.rotate(c)
		gens = append(gens, st.doc(c, secretstore.Current))
	}
	state := rotationstate.StateOf(st.describe(c))
	if state.RevokePrevious != "after:24h" || len(state.PendingRevocations) != 3 {
		t.Fatalf("state after three rotations: %+v", state)
	}

	steps := []struct {
		advance time.Duration
		when    string
		alive   []bool // gens[0..3]
	}{
		// gen1 is unlabelled, named by ddconn and 2h old: only its grace
		// period keeps the sweeper off it.
		{11 * time.Minute, "2h11m", []bool{true, true, true, true}},
		{22 * time.Hour, "24h11m", []bool{false, true, true, true}},
		{time.Hour, "25h11m", []bool{false, false, true, true}},
		{time.Hour, "26h11m", []bool{false, false, false, true}},
	}
	for _, s := range steps {
		st.sweepAfter(s.advance)
		for i, want := range s.alive {
			if got := st.authenticates(gens[i]); got != want {
				t.Errorf("at %s: generation %d authenticates = %v, want %v", s.when, i, got, want)
			}
		}
	}
	if keys := st.ownerKeyIDs(c); !slices.Equal(keys, []string{gens[3].KeyID}) {
		t.Errorf("keys %v, want only the current one", keys)
	}
	if state := rotationstate.StateOf(st.describe(c)); len(state.PendingRevocations) != 0 || state.LastWarning != "" {
		t.Errorf("final state: %+v", state)
	}
}

// TestSweeperDuringIncompleteRotation: a rotation crashed right after
// recording that the current key is to be revoked immediately, before
// promoting the new one. The sweeper must not revoke the key consumers
// still read; the re-attempted rotation then completes and revokes it.
func TestSweeperDuringIncompleteRotation(t *testing.T) {
	st := newStack(t, stackOptions{maxAttempts: 1})
	c := st.newConnection("midway", connOptions{policy: "immediately", scopes: matrixScopes})
	before := st.doc(c, secretstore.Current)
	st.rec.arm(plan{label: "finishSecret SM TagResource #1", kind: faultCrash})
	token := st.rotate(c)
	if !st.rec.hasFired() || !rotationstate.StateOf(st.describe(c)).InProgress {
		t.Fatal("the rotation did not stop before its promotion")
	}
	st.sweepAfter(11 * time.Minute)
	if !st.authenticates(st.doc(c, secretstore.Current)) {
		t.Fatal("the sweeper revoked the AWSCURRENT key")
	}
	if _, err := st.admin.Rotate(context.Background(), c.arn, secretstore.RotateInput{}); !errors.Is(err, secretstore.ErrRotationInProgress) {
		t.Fatalf("RotateSecret: %v", err)
	}
	st.waitIdle(context.Background())
	if sec := st.describe(c); !slices.Contains(sec.Versions[token], secretstore.Current) {
		t.Fatalf("the rotation did not complete: %v", sec.Versions)
	}
	if st.authenticates(before) || !st.authenticates(st.doc(c, secretstore.Current)) {
		t.Error("want the old key revoked and the new one working")
	}
}

// TestOriginalKeyWithUnknownID: a key ddconn never identified is retired
// like any other, but when its turn to be revoked comes the connection says
// to revoke it by hand, and the key is left alone.
func TestOriginalKeyWithUnknownID(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("legacy", connOptions{scopes: matrixScopes, unknownID: true, docScopes: true})
	original := st.doc(c, secretstore.Current)

	st.rotate(c)
	if state := rotationstate.StateOf(st.describe(c)); state.RevokeByHand != "" || !st.authenticates(original) {
		t.Fatalf("after rotation 1 the original key must still work, and nothing is due: %+v", state)
	}
	st.rotate(c)
	state := rotationstate.StateOf(st.describe(c))
	if !strings.Contains(state.RevokeByHand, "revoke it by hand") {
		t.Errorf("after rotation 2: RevokeByHand = %q", state.RevokeByHand)
	}
	if len(state.PendingRevocations) != 1 || state.PendingRevocations[0].KeyID == "" {
		t.Errorf("after rotation 2: want only rotation 1's key pending, got %+v", state.PendingRevocations)
	}
	if !st.authenticates(original) || !slices.Contains(st.ownerKeyIDs(c), c.origKeyID) {
		t.Error("ddconn revoked a key it never identified")
	}
	st.sweepAfter(11 * time.Minute)
	if !st.authenticates(original) {
		t.Error("the sweeper revoked a key ddconn never identified")
	}
}

// TestUnknownScopesStopTheRotation: with neither the key's id nor its
// scopes known, ddconn will not guess scopes for the new key.
func TestUnknownScopesStopTheRotation(t *testing.T) {
	st := newStack(t, stackOptions{maxAttempts: 1})
	c := st.newConnection("unknown", connOptions{scopes: matrixScopes, unknownID: true})
	before := st.doc(c, secretstore.Current)
	st.rotate(c)
	if after := st.doc(c, secretstore.Current); after.KeyID != before.KeyID || !st.authenticates(after) {
		t.Error("AWSCURRENT changed or stopped working")
	}
	if state := rotationstate.StateOf(st.describe(c)); !strings.Contains(state.LastError, "scopes are unknown") {
		t.Errorf("LastError = %q", state.LastError)
	}
	if keys := st.ownerKeyIDs(c); len(keys) != 1 {
		t.Errorf("keys %v: a key was created", keys)
	}
}

// TestPermanentFailureThenRecovery: Datadog refuses key creation on every
// attempt. Consumers stay on the old key, the error is on the connection,
// and once the fault is gone the incomplete rotation completes when asked
// again.
func TestPermanentFailureThenRecovery(t *testing.T) {
	st := newStack(t, stackOptions{maxAttempts: 3})
	c := st.newConnection("stuck", connOptions{scopes: matrixScopes})
	before := st.doc(c, secretstore.Current)
	st.sim.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Status: 403, Count: 1000})

	token := st.rotate(c)
	sec := st.describe(c)
	state := rotationstate.StateOf(sec)
	if cur := st.doc(c, secretstore.Current); cur.KeyID != before.KeyID || !st.authenticates(cur) {
		t.Fatal("consumers are not on the old, working key")
	}
	if !state.InProgress || !strings.Contains(state.LastError, "createSecret") || !strings.Contains(state.LastError, "403") {
		t.Errorf("state after the failures: %+v", state)
	}
	if keys := st.ownerKeyIDs(c); len(keys) != 1 {
		t.Errorf("keys %v after failed creations", keys)
	}
	if n := strings.Count(st.metrics.String(), `"RotationStepFailed":1`); n != 3 {
		t.Errorf("%d RotationStepFailed records, want 3 (one per attempt)", n)
	}

	st.sim.ClearFaults()
	_, err := st.admin.Rotate(context.Background(), c.arn, secretstore.RotateInput{})
	if !errors.Is(err, secretstore.ErrRotationInProgress) {
		t.Fatalf("RotateSecret during an incomplete rotation: %v, want ErrRotationInProgress", err)
	}
	st.waitIdle(context.Background())
	sec = st.describe(c)
	if !slices.Contains(sec.Versions[token], secretstore.Current) {
		t.Fatalf("the re-attempted rotation did not complete: %v", sec.Versions)
	}
	if state := rotationstate.StateOf(sec); state.LastError != "" || state.InProgress {
		t.Errorf("state after recovery: %+v", state)
	}
	if !st.authenticates(st.doc(c, secretstore.Current)) || !st.authenticates(before) {
		t.Error("after recovery the current and previous keys must both work")
	}
}

// TestNewKeyNeverActivates: testSecret gives up after its bounded wait and
// leaves AWSCURRENT alone; once the key works, the rotation completes.
func TestNewKeyNeverActivates(t *testing.T) {
	st := newStack(t, stackOptions{activationDelay: time.Hour, activationTimeout: 50 * time.Millisecond, maxAttempts: 2})
	c := st.newConnection("slow", connOptions{scopes: matrixScopes})
	before := st.doc(c, secretstore.Current)
	token := st.rotate(c)
	if cur := st.doc(c, secretstore.Current); cur.KeyID != before.KeyID || !st.authenticates(cur) {
		t.Fatal("AWSCURRENT moved to a key that does not work")
	}
	if state := rotationstate.StateOf(st.describe(c)); !strings.Contains(state.LastError, "testSecret") ||
		!strings.Contains(state.LastError, "did not become valid") {
		t.Errorf("LastError = %q", state.LastError)
	}

	st.emu.Advance(2 * time.Hour)
	if _, err := st.admin.Rotate(context.Background(), c.arn, secretstore.RotateInput{}); !errors.Is(err, secretstore.ErrRotationInProgress) {
		t.Fatalf("RotateSecret: %v", err)
	}
	st.waitIdle(context.Background())
	if sec := st.describe(c); !slices.Contains(sec.Versions[token], secretstore.Current) {
		t.Fatalf("the rotation did not complete once the key worked: %v", sec.Versions)
	}
}

// TestClientRetryAbsorbsAFault: with the Datadog client's own retry on, one
// server error is retried inside the call (at the cost of the client's 2 s
// back-off) and no step fails.
func TestClientRetryAbsorbsAFault(t *testing.T) {
	st := newStack(t, stackOptions{ddRetry: datadog.Retry{Enabled: true, MaxRetries: 1, Timeout: 10 * time.Second}})
	c := st.newConnection("retry", connOptions{scopes: matrixScopes})
	st.sim.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Status: 503, Count: 1})
	token := st.rotate(c)
	if sec := st.describe(c); !slices.Contains(sec.Versions[token], secretstore.Current) {
		t.Fatalf("rotation did not complete: %v", sec.Versions)
	}
	if strings.Contains(st.metrics.String(), "RotationStepFailed") {
		t.Error("a step failed although the client should have retried")
	}
	if n := strings.Count(strings.Join(st.rec.calls(), "\n"), "DD POST"); n != 2 {
		t.Errorf("%d key creation requests, want 2 (the fault and its retry)", n)
	}
}

// TestSweeperSparesYoungOrphans: a key left by a crashed, abandoned
// rotation is kept while younger than the minimum age (a rotation may be
// about to store it), then deleted.
func TestSweeperSparesYoungOrphans(t *testing.T) {
	st := newStack(t, stackOptions{maxAttempts: 1})
	c := st.newConnection("orphan", connOptions{scopes: matrixScopes})
	st.rec.arm(plan{label: "createSecret DD POST /api/v2/current_user/application_keys #1", kind: faultCrash})
	st.rotate(c)
	if !st.rec.hasFired() {
		t.Fatal("the crash never happened")
	}
	if _, err := st.admin.CancelRotation(context.Background(), c.arn); err != nil {
		t.Fatal(err)
	}
	if keys := st.ownerKeyIDs(c); len(keys) != 2 {
		t.Fatalf("want the original key and the orphan, got %v", keys)
	}
	if rep := st.sweepAfter(5 * time.Minute); rep.Swept != 0 || len(st.ownerKeyIDs(c)) != 2 {
		t.Errorf("a 5-minute-old orphan was swept: %+v", rep)
	}
	if rep := st.sweepAfter(6 * time.Minute); rep.Swept != 1 {
		t.Errorf("the 11-minute-old orphan was not swept: %+v", rep)
	}
	if keys := st.ownerKeyIDs(c); !slices.Equal(keys, []string{c.origKeyID}) {
		t.Errorf("keys %v, want only the original", keys)
	}
	if !strings.Contains(st.metrics.String(), `"OrphansSwept":1`) {
		t.Error("no OrphansSwept metric")
	}
}

// TestRotateImmediatelyFalse: Secrets Manager then only runs testSecret
// against a copy of the current value; nothing may change.
func TestRotateImmediatelyFalse(t *testing.T) {
	tests := []struct {
		name string
		o    connOptions
	}{
		{"identified key", connOptions{scopes: matrixScopes}},
		{"key of unknown id", connOptions{scopes: matrixScopes, unknownID: true, docScopes: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{maxAttempts: 1})
			c := st.newConnection("dry", tt.o)
			before := st.doc(c, secretstore.Current)
			no := false
			if _, err := st.admin.Rotate(context.Background(), c.arn, secretstore.RotateInput{
				LambdaARN: lambdaARN, Rules: &secretstore.RotationRules{AutomaticallyAfterDays: 30}, RotateImmediately: &no,
			}); err != nil {
				t.Fatal(err)
			}
			st.waitIdle(context.Background())
			state := rotationstate.StateOf(st.describe(c))
			if after := st.doc(c, secretstore.Current); after.Key != before.Key || state.LastError != "" || state.InProgress {
				t.Errorf("the test rotation changed the connection or failed: %+v", state)
			}
			if keys := st.ownerKeyIDs(c); len(keys) != 1 {
				t.Errorf("keys %v: a test rotation created a key", keys)
			}
			if !strings.Contains(st.logs.String(), `"step":"testSecret","token"`) || !strings.Contains(st.logs.String(), `"outcome":"tested"`) {
				t.Error("testSecret did not run")
			}
		})
	}
}

// TestSweeperRunsDuringRotations runs the sweeper in a loop while rotations
// happen, with the clock moved past the minimum age between them: the
// sweeper and finishSecret race to revoke the same keys, and every rotation
// must still complete with working keys.
func TestSweeperRunsDuringRotations(t *testing.T) {
	st := newStack(t, stackOptions{activationDelay: 20 * time.Millisecond})
	c := st.newConnection("busy", connOptions{scopes: matrixScopes})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		runs := 0
		for ctx.Err() == nil {
			_, _ = st.sweep.Run(ctx) // errors are expected when a run is cancelled
			runs++
		}
		done <- runs
	}()
	for n := 1; n <= 4; n++ {
		token := st.rotate(c)
		if sec := st.describe(c); !slices.Contains(sec.Versions[token], secretstore.Current) {
			t.Fatalf("rotation %d did not complete: %v", n, sec.Versions)
		}
		st.emu.Advance(11 * time.Minute)
	}
	stop()
	if runs := <-done; runs < 2 {
		t.Fatalf("the sweeper ran %d times; the test proves nothing", runs)
	}
	if v := st.takeViolations(); len(v) > 0 {
		t.Errorf("AWSCURRENT stopped authenticating: %v", v)
	}
	st.sweepAfter(11 * time.Minute)
	if keys, labelled := st.ownerKeyIDs(c), st.labelledKeyIDs(c); !slices.Equal(keys, labelled) {
		t.Errorf("keys %v, labelled %v", keys, labelled)
	}
	for _, stage := range []string{secretstore.Current, secretstore.Previous} {
		if !st.authenticates(st.doc(c, stage)) {
			t.Errorf("%s does not authenticate", stage)
		}
	}
}
