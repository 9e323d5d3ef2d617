package rotation_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

var matrixScopes = []string{"metrics_read", "user_app_keys"}

// matrixStack is the stack every matrix case runs on. Datadog takes a few
// seconds to accept a new key: the simulator rejects one for 3 s on the
// stack's clock, and each rejected validation moves that clock 1 s on, so
// testSecret always validates four times (three rejections, then the key
// works) and the wait costs no real seconds.
var matrixStack = stackOptions{activationDelay: 3 * time.Second, validateWait: time.Second}

// matrixSpec is one rotation to fault: which one, under which policy.
type matrixSpec struct {
	name string
	// policy is the connection's revokePrevious.
	policy string
	// warmups is the number of clean rotations before the faulted one.
	warmups int
	// previousLives says whether AWSPREVIOUS keeps working after a rotation.
	previousLives bool
	// managed faults the rotation of a managed application key (a service
	// account's key, managed with its connection's current key).
	managed bool
	// managedAPIKey faults the rotation of a managed API key.
	managedAPIKey bool
}

var matrixSpecs = []matrixSpec{
	// The second rotation: it revokes a key ddconn created.
	{name: "next-rotation, second rotation", policy: "next-rotation", warmups: 1, previousLives: true},
	// The first rotation: it retires and revokes the key the user supplied,
	// which only its retirement record can find again.
	{name: "immediately, first rotation", policy: "immediately", warmups: 0, previousLives: false},
	// The same two for a managed application key.
	{name: "managed key, next-rotation, second rotation", policy: "next-rotation", warmups: 1, previousLives: true, managed: true},
	{name: "managed key, immediately, first rotation", policy: "immediately", warmups: 0, previousLives: false, managed: true},
	// A managed API key alternates two keys: the second rotation deletes
	// the key of the first.
	{name: "managed API key, second rotation", warmups: 1, previousLives: true, managedAPIKey: true},
}

// kindsAt returns the fault kinds to try at the i-th call. Under the race
// detector, which makes each case several times slower, the managed-key
// specs fault every call with one kind, in turn, to keep the package's
// tests within their time budget; without it every call gets every kind.
func (spec matrixSpec) specName() string { return spec.name }

func (spec matrixSpec) kindsAt(i int, kinds []faultKind) []faultKind {
	if testkit.RaceEnabled && (spec.managed || spec.managedAPIKey) {
		return kinds[i%len(kinds) : i%len(kinds)+1]
	}
	return kinds
}

// TestFaultMatrix records every remote call of one rotation, then for each
// call runs a rotation where that call fails once (server error,
// throttling, or a timeout that loses the answer of a call that went
// through), and one where the rotation function crashes right after it. The
// clients' own retries are off, so every fault fails its step and the
// emulator retries the rotation, as Secrets Manager does. New keys take a
// few seconds to work (matrixStack), so the faults also land on each of
// testSecret's attempts while it waits.
//
// Every case must end with the rotation complete and AWSCURRENT
// authenticating before, between every two steps and after. Then one more
// clean rotation runs (it revokes what the faulted one retired), and after
// one sweeper run past the minimum age no key of the connection may exist
// that no labelled version refers to.
func TestFaultMatrix(t *testing.T) {
	runMatrix(t, "rotation", matrixSpecs, baselineCalls, runFaultCase)
}

// runMatrix runs, for each spec, the baseline that records every remote
// call it makes, then one case per call and fault kind (spec.kindsAt),
// in parallel, and reports how many cases the code survived.
func runMatrix[S interface {
	kindsAt(int, []faultKind) []faultKind
	specName() string
}](t *testing.T, what string, specs []S, baseline func(*testing.T, S) []string, run func(*testing.T, S, plan)) {
	kinds := []faultKind{fault5xx, faultThrottle, faultTimeout, faultCrash}
	var total, survived atomic.Int64
	for _, spec := range specs {
		labels := baseline(t, spec)
		t.Logf("%s: one %s makes %d remote calls:\n  %s", spec.specName(), what, len(labels), strings.Join(labels, "\n  "))
		t.Run(spec.specName(), func(t *testing.T) {
			for i, label := range labels {
				for _, kind := range spec.kindsAt(i, kinds) {
					p := plan{label: label, kind: kind}
					total.Add(1)
					t.Run(fmt.Sprintf("%s at %s", kind, label), func(t *testing.T) {
						t.Parallel()
						run(t, spec, p)
						if !t.Failed() {
							survived.Add(1)
						}
					})
				}
			}
		})
	}
	t.Logf("survived %d of %d", survived.Load(), total.Load())
	if survived.Load() != total.Load() || total.Load() == 0 {
		t.Errorf("survived %d of %d", survived.Load(), total.Load())
	}
}

// baselineCalls returns the labels of the calls of spec's rotation when
// nothing fails. That rotation must wait for its new key without failing a
// step.
func baselineCalls(t *testing.T, spec matrixSpec) []string {
	t.Helper()
	st := newStack(t, matrixStack)
	c := st.newConnection("matrix", connOptions{scopes: matrixScopes, policy: spec.policy, managed: spec.managed, managedAPIKey: spec.managedAPIKey})
	for range spec.warmups {
		st.rotate(c)
	}
	st.rec.reset()
	st.rotate(c)
	labels := st.rec.calls()
	validate := "DD GET /api/v2/validate_keys"
	if spec.managedAPIKey {
		validate = "DD GET /api/v1/validate"
	}
	for _, want := range []string{"SM PutSecretValue", "DD POST", "DD DELETE", "SM UpdateSecretVersionStage", validate + " #4"} {
		if !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, want) }) {
			t.Fatalf("the baseline rotation made no %q call (testSecret validates four times while the key activates): %v", want, labels)
		}
	}
	if strings.Contains(st.metrics.String(), "RotationStepFailed") {
		t.Fatal("a step of the baseline rotation failed: testSecret must wait for the new key, not fail")
	}
	return labels
}

func runFaultCase(t *testing.T, spec matrixSpec, p plan) {
	st := newStack(t, matrixStack)
	c := st.newConnection("matrix", connOptions{scopes: matrixScopes, policy: spec.policy, managed: spec.managed, managedAPIKey: spec.managedAPIKey})
	for range spec.warmups {
		st.rotate(c)
	}
	if !st.authenticates(st.doc(c, secretstore.Current)) {
		t.Fatal("before: AWSCURRENT does not authenticate")
	}

	st.rec.arm(p)
	token := st.rotate(c)
	if !st.rec.hasFired() {
		t.Fatalf("the fault never fired: no call labelled %q", p.label)
	}
	// A revocation that failed after the promotion is the sweeper's job,
	// so whether AWSPREVIOUS still works is only checked after it ran.
	st.assertRotated(c, token, spec.previousLives)
	if v := st.takeViolations(); len(v) > 0 {
		t.Errorf("during: %v", v)
	}

	st.assertRotated(c, st.rotate(c), spec.previousLives)
	st.sweepAfter(11 * time.Minute)
	keys, labelled := st.ownerKeyIDs(c), st.labelledKeyIDs(c)
	if orphans := without(keys, labelled); len(orphans) > 0 {
		t.Errorf("after the sweeper: keys %v exist that no labelled version holds (labelled: %v)", orphans, labelled)
	}
	want := labelled
	if !spec.previousLives {
		want = []string{st.doc(c, secretstore.Current).KeyID}
	}
	if !slices.Equal(keys, want) {
		t.Errorf("after the sweeper: keys %v, want %v", keys, want)
	}
	if !st.authenticates(st.doc(c, secretstore.Current)) {
		t.Error("after the sweeper: AWSCURRENT does not authenticate")
	}
}

// assertRotated checks that the rotation to token completed and left the
// connection idle, with working keys; AWSPREVIOUS is checked only when it
// must still work.
func (st *stack) assertRotated(c conn, token string, previousLives bool) {
	t := st.t
	t.Helper()
	sec := st.describe(c)
	if !slices.Contains(sec.Versions[token], secretstore.Current) {
		t.Fatalf("the rotation did not complete: labels %v", sec.Versions)
	}
	if state := rotationstate.StateOf(sec); state.InProgress || state.LastError != "" {
		t.Errorf("after the rotation: in progress %v, last error %q", state.InProgress, state.LastError)
	}
	if !st.authenticates(st.doc(c, secretstore.Current)) {
		t.Error("after: AWSCURRENT does not authenticate")
	}
	if previousLives && !st.authenticates(st.doc(c, secretstore.Previous)) {
		t.Error("after: AWSPREVIOUS does not authenticate")
	}
}

// without returns the elements of a not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
