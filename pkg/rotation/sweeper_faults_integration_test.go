package rotation_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// sweepSpec is a secret whose sweep is faulted.
type sweepSpec struct {
	matrixSpec
	// intents adds the sweeper's other work: an abandoned mint of another
	// managed key of the same connection, and a tombstone past its time.
	intents bool
}

// sweepSpecs are one secret of each kind, a connection whose retired key
// is still labelled AWSPREVIOUS, and every kind of intent.
var sweepSpecs = []sweepSpec{
	{matrixSpec: matrixSpec{name: "connection, next-rotation", policy: "next-rotation", warmups: 1, previousLives: true}},
	{matrixSpec: matrixSpec{name: "connection, immediately", policy: "immediately", warmups: 1, previousLives: false}},
	{matrixSpec: matrixSpec{name: "managed key, next-rotation, abandoned mint, expired tombstone", policy: "next-rotation", warmups: 1, previousLives: true, managed: true}, intents: true},
	{matrixSpec: matrixSpec{name: "managed API key", warmups: 1, previousLives: true, managedAPIKey: true}},
}

// TestSweeperFaultMatrix records every remote call of one sweep that has
// each kind of work to do (an orphaned key to delete, a retired key whose
// revocation failed at the promotion to revoke, its records to remove, a
// mint to roll back, a tombstone to delete), then for each call runs that
// sweep with the call failing once (server error, throttling, or a timeout
// that loses the answer of a call that went through) and with the sweep
// crashing right after it; under the race detector, managed keys' calls get
// one kind each, as in TestFaultMatrix. The sweeper's clients retry
// nothing, so each fault reaches its logic; the next run is its retry.
//
// The faulted sweep may fail, but must revoke nothing still in use; the
// next sweep must leave exactly the keys in use, the user's own key and a
// rotation's key too young to be an orphan, with no retirement record,
// warning, abandoned mint or expired tombstone left.
func TestSweeperFaultMatrix(t *testing.T) {
	runMatrix(t, "sweep", sweepSpecs, baselineSweep, runSweepFaultCase)
}

// sweepWork is a secret set up with work for the sweeper.
type sweepWork struct {
	st *stack
	c  conn
	// retired is the key whose revocation failed when its rotation
	// promoted the next one; only its retirement record leads to it.
	retired string
	// orphan is a rotation's key that no version holds, past the minimum
	// age.
	orphan string
	// keep are the keys no sweep may delete: those the labelled versions
	// hold that must keep working, the user's own key, and a rotation's
	// key younger than the minimum age.
	keep []string
	// mint and tombstone are the secrets of an abandoned mint and of an
	// expired tombstone, with spec.intents; mintKey is the key the mint
	// created.
	mint, tombstone, mintKey string
}

// newSweepWork rotates spec's secret spec.warmups times cleanly, then once
// more with the revocation failing (a 500 from Datadog), adds the user's
// own key and a rotation's key that no version holds (and the intents),
// moves the clock past the minimum age (and the tombstone's time), and adds
// a rotation's key that is still young.
func newSweepWork(t *testing.T, spec sweepSpec) *sweepWork {
	t.Helper()
	st := newStack(t, stackOptions{})
	c := st.newConnection("sweep", connOptions{scopes: matrixScopes, policy: spec.policy, managed: spec.managed, managedAPIKey: spec.managedAPIKey})
	for range spec.warmups {
		st.rotate(c)
	}
	st.sim.AddFault(ddsim.Fault{Method: "DELETE", Status: 500})
	st.assertRotated(c, st.rotate(c), true)
	if f := st.sim.Faults(); len(f) != 0 {
		t.Fatalf("the rotation made no revocation to fail: faults left %v", f)
	}
	w := &sweepWork{st: st, c: c}
	n, ok := secretkind.ParseName(prefix, st.describe(c).Name)
	if !ok {
		t.Fatalf("%s is not a ddconn secret name", st.describe(c).Name)
	}
	user := w.addKey("made by the user")
	w.orphan = w.addKey(n.DatadogKeyName(st.scope(c), "abandoned"))
	advance := 11 * time.Minute
	if spec.intents {
		w.addIntents(n)
		advance += secretkind.TombstoneTTL
	}
	st.emu.Advance(advance)
	young := w.addKey(n.DatadogKeyName(st.scope(c), "in-flight"))
	w.keep = []string{st.doc(c, secretstore.Current).KeyID, user, young}
	if spec.previousLives {
		w.keep = append(w.keep, st.doc(c, secretstore.Previous).KeyID)
	}
	slices.Sort(w.keep)

	// AWSPREVIOUS's key may have a record too, awaiting the next rotation.
	due := w.dueRetirements()
	if len(due) != 1 || due[0] == "" {
		t.Fatalf("want one retirement record of a known key not in use after the failed revocation, got %v", due)
	}
	w.retired = due[0]
	if !slices.Contains(st.ownerKeyIDs(c), w.retired) {
		t.Fatalf("the retired key %s is gone although its revocation failed", w.retired)
	}
	return w
}

// addIntents records, as package managedkey would, the mint of managed key
// "abandoned" of n's connection, for n's service account, that created its
// key and stopped before storing it, and the tombstone of a deleted managed
// key.
func (w *sweepWork) addIntents(n secretkind.Name) {
	ctx := context.Background()
	mint := secretkind.Name{Kind: secretkind.AppKey, Connection: n.Connection, Key: "abandoned"}
	const token = "0a7d1c5e-mint-token"
	sec, err := w.st.admin.Create(ctx, secretstore.CreateInput{Name: mint.SecretName(prefix), Tags: map[string]string{
		secretkind.TagManagedBy: secretkind.ManagedBy, secretkind.TagKind: mint.Kind.Segment(),
		secretkind.TagConnection: mint.Connection, secretkind.TagMintToken: token,
		secretkind.TagServiceAccountID: w.c.owner,
	}})
	if err != nil {
		w.st.t.Fatalf("recording the mint: %v", err)
	}
	w.mint = sec.ARN
	w.mintKey = w.addKey(mint.DatadogKeyName(w.st.scope(w.c), token))
	tomb, err := w.st.admin.Create(ctx, secretstore.CreateInput{
		Name:  secretkind.TombstoneName(prefix, "a-replayed-request"),
		Value: `{"deleted":true}`,
		Tags:  map[string]string{secretkind.TagManagedBy: secretkind.ManagedBy, secretkind.TagTombstoneOf: "keys/" + n.Connection + "/gone"},
	})
	if err != nil {
		w.st.t.Fatalf("recording the tombstone: %v", err)
	}
	w.tombstone = tomb.ARN
}

// addKey adds a key of the secret's owner (its organisation, for a managed
// API key) named name, and returns its id.
func (w *sweepWork) addKey(name string) string {
	if w.c.manager != nil {
		_, id := w.st.sim.AddAPIKey(w.st.org, name)
		return id
	}
	_, id := w.st.sim.AddAppKey(w.c.owner, name, matrixScopes)
	return id
}

// baselineSweep returns the labels of the calls of spec's sweep when
// nothing fails; the sweep must find every kind of work.
func baselineSweep(t *testing.T, spec sweepSpec) []string {
	t.Helper()
	w := newSweepWork(t, spec)
	w.st.sweepRec.reset()
	rep, err := w.st.sweepOnce()
	if err != nil {
		t.Fatalf("the baseline sweep: %v", err)
	}
	swept := 1
	want := []string{"SM ListSecrets", "SM DescribeSecret", "SM GetSecretValue", "DD GET", "DD DELETE", "SM UntagResource"}
	if spec.intents {
		swept++ // the mint's key
		want = append(want, "SM DeleteSecret #2")
	}
	if rep.Swept != swept || rep.Revoked != 1 || rep.Failed != 0 {
		t.Fatalf("the baseline sweep: %+v, want %d keys swept and one revoked", rep, swept)
	}
	w.assertSwept(t)
	labels := w.st.sweepRec.calls()
	for _, want := range want {
		if !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, want) }) {
			t.Fatalf("the baseline sweep made no %q call: %v", want, labels)
		}
	}
	return labels
}

func runSweepFaultCase(t *testing.T, spec sweepSpec, p plan) {
	w := newSweepWork(t, spec)
	st := w.st
	st.sweepRec.arm(p)
	_, _ = st.sweepOnce() // the faulted run may fail; the next one is its retry
	if !st.sweepRec.hasFired() {
		t.Fatalf("the fault never fired: no call labelled %q", p.label)
	}
	w.assertKept(t, "after the faulted sweep")

	st.emu.Advance(time.Minute)
	if rep, err := st.sweepOnce(); err != nil || rep.Failed != 0 {
		t.Fatalf("the next sweep: %+v, %v", rep, err)
	}
	w.assertSwept(t)
}

// assertKept checks that every key in use still exists and AWSCURRENT (and
// AWSPREVIOUS, where it must live) authenticates.
func (w *sweepWork) assertKept(t *testing.T, when string) {
	t.Helper()
	if missing := without(w.keep, w.st.ownerKeyIDs(w.c)); len(missing) > 0 {
		t.Errorf("%s: keys %v were deleted; every one of %v must stay", when, missing, w.keep)
	}
	if !w.st.authenticates(w.st.doc(w.c, secretstore.Current)) {
		t.Errorf("%s: AWSCURRENT does not authenticate", when)
	}
	if slices.Contains(w.keep, w.st.doc(w.c, secretstore.Previous).KeyID) && !w.st.authenticates(w.st.doc(w.c, secretstore.Previous)) {
		t.Errorf("%s: AWSPREVIOUS does not authenticate", when)
	}
}

// assertSwept checks that a sweep finished the work: exactly the keys in
// use remain, and no retirement record or revocation warning is left.
func (w *sweepWork) assertSwept(t *testing.T) {
	t.Helper()
	w.assertKept(t, "after the sweep")
	if keys := w.st.ownerKeyIDs(w.c); !slices.Equal(keys, w.keep) {
		t.Errorf("after the sweep: keys %v, want %v (the retired key %s and the orphan %s gone)", keys, w.keep, w.retired, w.orphan)
	}
	if due := w.dueRetirements(); len(due) > 0 {
		t.Errorf("after the sweep: retirement records of keys not in use left: %v", due)
	}
	if _, ok := w.st.describe(w.c).Tags[secretkind.TagLastWarning]; ok {
		t.Error("after the sweep: the revocation warning is left")
	}
	if w.mintKey != "" && slices.Contains(w.st.ownerKeyIDs(w.c), w.mintKey) {
		t.Errorf("after the sweep: the abandoned mint's key %s is left", w.mintKey)
	}
	for what, arn := range map[string]string{"the abandoned mint's secret": w.mint, "the expired tombstone": w.tombstone} {
		if arn == "" {
			continue
		}
		if _, err := w.st.admin.Describe(context.Background(), arn); !errors.Is(err, secretstore.ErrNotFound) {
			t.Errorf("after the sweep: %s is left (%v)", what, err)
		}
	}
}

// dueRetirements returns the ids of the keys that retirement records hold
// and that are not to be kept.
func (w *sweepWork) dueRetirements() []string {
	var ids []string
	for _, rt := range rotationstate.Retirements(w.st.describe(w.c).Tags) {
		if !slices.Contains(w.keep, rt.KeyID) {
			ids = append(ids, rt.KeyID)
		}
	}
	return ids
}
