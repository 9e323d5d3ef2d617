package rotation_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// name is the secretkind.Name of c's secret.
func (st *stack) name(c conn) secretkind.Name {
	st.t.Helper()
	n, ok := secretkind.ParseName(prefix, st.describe(c).Name)
	if !ok {
		st.t.Fatalf("%s is not a ddconn secret", c.name)
	}
	return n
}

// rollback rolls c's rotation back as the manage function would, with the
// recorder told a rollback is running: a planned crash ends it.
func (st *stack) rollback(c conn) (rotation.RolledBack, error) {
	n := st.name(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st.rec.beginStep("rollback", cancel)
	defer st.rec.endStep()
	return st.rot.Rollback(ctx, n)
}

// TestRollback: after a rotation, a rollback makes the previous version
// current again with staging labels only, for every kind. The restored key
// authenticates, the rolled-back key is retired under the policy (and
// revoked by the next rotation under next-rotation), Rotation Rolled Back
// is published, and no key is left that nothing refers to.
func TestRollback(t *testing.T) {
	for _, k := range whenUnusedKinds {
		t.Run(k.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			c := st.newConnection("back", k.o)
			original := st.doc(c, secretstore.Current)
			before := st.describe(c)
			token := st.rotate(c)
			rolled := st.doc(c, secretstore.Current)
			keysBefore := len(st.ownerKeyIDs(c))

			got, err := st.rollback(c)
			if err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			origVersion, _ := before.CurrentVersion()
			if got.VersionID != origVersion || got.KeyID != original.KeyID || got.RolledBackVersionID != token || got.RolledBackKeyID != rolled.KeyID {
				t.Fatalf("Rollback = %+v, want version %s (key %s) restored from %s (key %s)", got, origVersion, original.KeyID, token, rolled.KeyID)
			}
			if cur := st.doc(c, secretstore.Current); cur.KeyID != original.KeyID || !st.authenticates(cur) {
				t.Fatal("AWSCURRENT does not hold the original, working key")
			}
			if prev := st.doc(c, secretstore.Previous); prev.KeyID != rolled.KeyID || !st.alive(c, prev) {
				t.Fatal("AWSPREVIOUS does not hold the rolled-back key, alive until the next rotation")
			}
			if n := len(st.ownerKeyIDs(c)); n != keysBefore {
				t.Errorf("the rollback changed the number of keys from %d to %d", keysBefore, n)
			}
			state := rotationstate.StateOf(st.describe(c))
			if state.CurrentKeyID != original.KeyID || state.PreviousKeyID != rolled.KeyID || len(state.PendingRevocations) != 1 ||
				state.PendingRevocations[0].KeyID != rolled.KeyID {
				t.Fatalf("state after the rollback: %+v", state)
			}
			events := of[rotation.RolledBack](t, st.events, rotation.RolledBackEvent, c.arn)
			if len(events) != 1 || events[0].VersionID != origVersion || events[0].RolledBackKeyID != rolled.KeyID || events[0].SecretName != st.describe(c).Name {
				t.Fatalf("Rotation Rolled Back events %+v", events)
			}

			// The next rotation replaces the restored key and revokes the
			// rolled-back one, which no version holds any more.
			st.rotate(c)
			if st.alive(c, rolled) || !st.authenticates(st.doc(c, secretstore.Current)) || !st.alive(c, original) {
				t.Fatal("after the next rotation: want the rolled-back key revoked, the restored one previous and alive")
			}
			st.sweepAfter(11 * time.Minute)
			if keys, labelled := st.ownerKeyIDs(c), st.labelledKeyIDs(c); !slices.Equal(keys, labelled) {
				t.Errorf("keys %v, want exactly the labelled ones %v", keys, labelled)
			}
		})
	}
}

// TestRollbackRefusals: a rollback changes nothing when the previous key
// is revoked, when there is no previous version, and while a rotation is
// in progress.
func TestRollbackRefusals(t *testing.T) {
	t.Run("previous key revoked", func(t *testing.T) {
		st := newStack(t, stackOptions{})
		c := st.newConnection("gone", connOptions{policy: "immediately", scopes: matrixScopes})
		st.rotate(c)
		before := st.describe(c)
		if _, err := st.rollback(c); !errors.Is(err, rotation.ErrPreviousRevoked) {
			t.Fatalf("Rollback = %v, want ErrPreviousRevoked", err)
		}
		assertUnchanged(t, before, st.describe(c))
		if !st.authenticates(st.doc(c, secretstore.Current)) {
			t.Error("AWSCURRENT stopped working")
		}
	})
	t.Run("no previous version", func(t *testing.T) {
		st := newStack(t, stackOptions{})
		c := st.newConnection("fresh", connOptions{scopes: matrixScopes})
		before := st.describe(c)
		if _, err := st.rollback(c); !errors.Is(err, rotation.ErrNoPrevious) {
			t.Fatalf("Rollback = %v, want ErrNoPrevious", err)
		}
		assertUnchanged(t, before, st.describe(c))
	})
	t.Run("rotation in progress", func(t *testing.T) {
		st := newStack(t, stackOptions{maxAttempts: 1})
		c := st.newConnection("busy", connOptions{scopes: matrixScopes})
		st.rotate(c)
		st.rec.arm(plan{label: "finishSecret SM TagResource #1", kind: faultCrash})
		st.rotate(c) // stops before its promotion
		before := st.describe(c)
		if !rotationstate.StateOf(before).InProgress {
			t.Fatal("the rotation did not stop before its promotion")
		}
		if _, err := st.rollback(c); !errors.Is(err, rotation.ErrRollbackDuringRotation) {
			t.Fatalf("Rollback = %v, want ErrRollbackDuringRotation", err)
		}
		assertUnchanged(t, before, st.describe(c))
	})
}

// assertUnchanged checks that a refused rollback moved no label and wrote
// no tag.
func assertUnchanged(t *testing.T, before, after secretstore.Secret) {
	t.Helper()
	if !maps.EqualFunc(before.Versions, after.Versions, slices.Equal[[]string]) || !maps.Equal(before.Tags, after.Tags) {
		t.Errorf("a refused rollback changed the secret: labels %v → %v, tags %v → %v", before.Versions, after.Versions, before.Tags, after.Tags)
	}
}

// TestRollbackRacesRotation: a rotation promoted between the rollback's
// checks and its move makes the rollback fail without undoing it; the
// rotation's new key stays current and nothing is left behind.
func TestRollbackRacesRotation(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("race", connOptions{scopes: matrixScopes})
	st.rotate(c)
	// Let a whole rotation run right after the rollback recorded its
	// intent, before it moves AWSCURRENT.
	st.rec.onCall("rollback SM TagResource #1", func() { st.rotate(c) })
	_, err := st.rollback(c)
	if !errors.Is(err, rotation.ErrRollbackDuringRotation) {
		t.Fatalf("Rollback = %v, want ErrRollbackDuringRotation", err)
	}
	sec := st.describe(c)
	rotated := of[rotation.Rotated](t, st.events, rotation.RotatedEvent, c.arn)
	if len(rotated) != 2 || !slices.Contains(sec.Versions[rotated[1].VersionID], secretstore.Current) {
		t.Fatalf("the concurrent rotation is not current: labels %v", sec.Versions)
	}
	if !st.authenticates(st.doc(c, secretstore.Current)) || !st.authenticates(st.doc(c, secretstore.Previous)) {
		t.Fatal("the current or the previous key does not work")
	}
	st.rotate(c)
	st.sweepAfter(11 * time.Minute)
	if keys, labelled := st.ownerKeyIDs(c), st.labelledKeyIDs(c); !slices.Equal(keys, labelled) {
		t.Errorf("keys %v, want exactly the labelled ones %v", keys, labelled)
	}
}

// rollbackSpec is one rollback to fault.
type rollbackSpec struct {
	name string
	o    connOptions
}

func (s rollbackSpec) specName() string { return s.name }

func (s rollbackSpec) kindsAt(i int, kinds []faultKind) []faultKind {
	if testkit.RaceEnabled && (s.o.managed || s.o.managedAPIKey) {
		return kinds[i%len(kinds) : i%len(kinds)+1]
	}
	return kinds
}

var rollbackSpecs = []rollbackSpec{
	{"connection", connOptions{scopes: matrixScopes}},
	{"managed application key", connOptions{managed: true, scopes: matrixScopes}},
	{"managed API key", connOptions{managedAPIKey: true}},
}

// TestRollbackFaultMatrix faults each remote call of a rollback once (a
// server error, throttling, a lost answer, or a crash right after it).
// The caller retries a failed rollback once unless the secret already
// shows it done. Every case must end with the original key current and
// authenticating, and, after one more rotation and a sweep, no key that no
// labelled version holds.
func TestRollbackFaultMatrix(t *testing.T) {
	runMatrix(t, "rollback", rollbackSpecs, baselineRollback, runRollbackFault)
}

func baselineRollback(t *testing.T, spec rollbackSpec) []string {
	t.Helper()
	st := newStack(t, stackOptions{})
	c := st.newConnection("rb", spec.o)
	st.rotate(c)
	st.rec.reset()
	if _, err := st.rollback(c); err != nil {
		t.Fatal(err)
	}
	labels := st.rec.calls()
	if !slices.ContainsFunc(labels, func(l string) bool { return l == "rollback SM UpdateSecretVersionStage #1" }) {
		t.Fatalf("the baseline rollback made no UpdateSecretVersionStage call: %v", labels)
	}
	return labels
}

func runRollbackFault(t *testing.T, spec rollbackSpec, p plan) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("rb", spec.o)
	original := st.doc(c, secretstore.Current)
	st.rotate(c)

	st.rec.arm(p)
	_, err := st.rollback(c)
	if !st.rec.hasFired() {
		t.Fatalf("the fault never fired: no call labelled %q", p.label)
	}
	if err != nil && st.doc(c, secretstore.Current).KeyID != original.KeyID {
		if _, err := st.rollback(c); err != nil {
			t.Fatalf("the retried rollback: %v", err)
		}
	}
	if cur := st.doc(c, secretstore.Current); cur.KeyID != original.KeyID || !st.authenticates(cur) {
		t.Fatalf("after the rollback: AWSCURRENT holds %s (working %v), want the original %s", cur.KeyID, st.authenticates(cur), original.KeyID)
	}
	st.rotate(c)
	st.sweepAfter(11 * time.Minute)
	if keys, labelled := st.ownerKeyIDs(c), st.labelledKeyIDs(c); !slices.Equal(keys, labelled) {
		t.Errorf("after a rotation and the sweeper: keys %v, want exactly the labelled ones %v", keys, labelled)
	}
	if !st.authenticates(st.doc(c, secretstore.Current)) {
		t.Error("after the sweeper: AWSCURRENT does not authenticate")
	}
}
