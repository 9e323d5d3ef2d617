package rotation_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// whenUnusedKinds are the three kinds of secret the when-unused policy
// applies to, with the stored form of the policy (as the API writes it).
var whenUnusedKinds = []struct {
	name string
	o    connOptions
}{
	{"connection", connOptions{scopes: matrixScopes}},
	{"managed application key", connOptions{managed: true, scopes: matrixScopes}},
	{"managed API key", connOptions{managedAPIKey: true}},
}

// use authenticates a call at Datadog with the document's key, as a
// consumer that still holds it would: Datadog records the use.
func (st *stack) use(d secretkind.Document) {
	st.t.Helper()
	ctx := context.Background()
	var err error
	if d.APIKey == "" {
		err = st.plainDD.ValidateAPIKey(ctx, datadog.Credentials{Site: mustSite(d.URL), APIKey: d.Key})
	} else {
		err = st.plainDD.ValidateKeys(ctx, datadog.Credentials{Site: mustSite(d.URL), APIKey: d.APIKey, AppKey: d.Key})
	}
	if err != nil {
		st.t.Fatalf("a consumer's call with the retired key: %v", err)
	}
}

// alive reports whether the document's key still exists, without using
// it (a call with it would count as a use): a managed API key is looked
// up in the organisation's listing.
func (st *stack) alive(c conn, d secretkind.Document) bool {
	if c.manager != nil {
		return slices.Contains(st.managedAPIKeyIDs(c), d.KeyID)
	}
	return st.sim.Authenticates(d.APIKey, d.Key)
}

// pending returns the pending revocation of key id, if any.
func pending(st rotationstate.State, id string) (rotationstate.PendingRevocation, bool) {
	for _, p := range st.PendingRevocations {
		if p.KeyID == id {
			return p, true
		}
	}
	return rotationstate.PendingRevocation{}, false
}

// TestRevokeWhenUnused: a consumer keeps using the replaced key for a
// while after the rotation, then stops. The key stays while it is used
// and is revoked by the sweeper only once it has gone unused for the
// quiet period; the object shows its last use and when it will go.
func TestRevokeWhenUnused(t *testing.T) {
	for _, k := range whenUnusedKinds {
		t.Run(k.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			o := k.o
			o.policy = "when-unused max-grace=24h quiet=1h"
			c := st.newConnection("unused", o)
			old := st.doc(c, secretstore.Current)
			st.rotate(c)
			state := rotationstate.StateOf(st.describe(c))
			if state.RevokePrevious != "when-unused" || state.MaxGrace != "24h" || state.QuietPeriod != "1h" || state.PreviousKeyID != old.KeyID {
				t.Fatalf("state after the rotation: %+v", state)
			}

			// Used 30 and 90 minutes after the rotation: the key stays.
			st.emu.Advance(30 * time.Minute)
			st.use(old)
			st.sweepAfter(time.Minute)
			st.emu.Advance(59 * time.Minute)
			st.use(old)
			lastUse := st.emu.Clock().Now()
			st.sweepAfter(time.Minute)
			p, ok := pending(rotationstate.StateOf(st.describe(c)), old.KeyID)
			if !ok || !st.alive(c, old) {
				t.Fatalf("the key was revoked while in use (pending %v)", ok)
			}
			if p.LastUsedAt == nil || p.LastUsedAt.Before(lastUse.Truncate(time.Second)) || p.RevokeIfUnusedAt == nil ||
				!p.RevokeIfUnusedAt.Equal(p.LastUsedAt.Add(time.Hour)) || p.DueAt == nil {
				t.Fatalf("pending revocation %+v, want the last use at %v and revocation an hour later", p, lastUse)
			}

			// 58 minutes after the last use: still within the quiet period.
			st.sweepAfter(57 * time.Minute)
			if !st.alive(c, old) {
				t.Fatal("the key was revoked within the quiet period after its last use")
			}
			// Past the quiet period: revoked, unused.
			st.sweepAfter(3 * time.Minute)
			if st.alive(c, old) {
				t.Fatal("the key still works an hour after its last use")
			}
			if !st.authenticates(st.doc(c, secretstore.Current)) {
				t.Fatal("the current key stopped working")
			}
			revoked := of[rotation.Revoked](t, st.events, rotation.RevokedEvent, c.arn)
			if len(revoked) != 1 || revoked[0].KeyID != old.KeyID || revoked[0].Reason != rotation.ReasonUnused || revoked[0].LastUsedAt == nil {
				t.Fatalf("Key Revoked %+v, want one for the unused key", revoked)
			}
			if n := len(of[rotation.StillInUse](t, st.events, rotation.StillInUseEvent, c.arn)); n != 0 {
				t.Errorf("%d Previous Key Still In Use events for a key revoked unused", n)
			}
			if state := rotationstate.StateOf(st.describe(c)); len(state.PendingRevocations) != 0 || state.ForcedRevocation != "" || state.LastWarning != "" {
				t.Errorf("final state %+v", state)
			}
		})
	}
}

// TestRevokeWhenUnusedMaxGrace: a consumer never stops using the replaced
// key. When maxGrace runs out the key is revoked all the same, after a
// Previous Key Still In Use event, and the rotation says so.
func TestRevokeWhenUnusedMaxGrace(t *testing.T) {
	for _, k := range whenUnusedKinds {
		t.Run(k.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			o := k.o
			o.policy = "when-unused max-grace=3h quiet=1h"
			c := st.newConnection("inuse", o)
			old := st.doc(c, secretstore.Current)
			st.rotate(c)
			rotated := of[rotation.Rotated](t, st.events, rotation.RotatedEvent, c.arn)
			if len(rotated) != 1 || rotated[0].RevokePrevious != "when-unused" || rotated[0].PreviousKeyRevokeAt == nil ||
				rotated[0].PreviousKeyRevokeAt.Sub(rotated[0].RotatedAt).Round(time.Minute) != 3*time.Hour {
				t.Fatalf("Key Rotated %+v, want the previous key gone within maxGrace", rotated)
			}
			for range 4 { // a use every 40 minutes, a sweep after each
				st.emu.Advance(39 * time.Minute)
				st.use(old)
				st.sweepAfter(time.Minute)
			}
			if !st.alive(c, old) {
				t.Fatal("the key in use was revoked before maxGrace ran out")
			}
			st.emu.Advance(19 * time.Minute)
			st.use(old)
			st.sweepAfter(2 * time.Minute) // 3h01m after the rotation
			if st.alive(c, old) {
				t.Fatal("the key still works after maxGrace")
			}
			still := of[rotation.StillInUse](t, st.events, rotation.StillInUseEvent, c.arn)
			if len(still) != 1 || still[0].KeyID != old.KeyID || still[0].LastUsedAt == nil || still[0].MaxGraceEndedAt.IsZero() {
				t.Fatalf("Previous Key Still In Use %+v, want one for %s", still, old.KeyID)
			}
			revoked := of[rotation.Revoked](t, st.events, rotation.RevokedEvent, c.arn)
			if len(revoked) != 1 || revoked[0].KeyID != old.KeyID || revoked[0].Reason != rotation.ReasonMaxGrace {
				t.Fatalf("Key Revoked %+v, want one at maxGrace", revoked)
			}
			if i, j := st.events.index(rotation.StillInUseEvent, c.arn), st.events.index(rotation.RevokedEvent, c.arn); i > j {
				t.Error("Previous Key Still In Use was published after the revocation")
			}
			state := rotationstate.StateOf(st.describe(c))
			if !strings.Contains(state.ForcedRevocation, old.KeyID) || !strings.Contains(state.ForcedRevocation, "still in use") {
				t.Errorf("forcedRevocation %q, want the warning naming %s", state.ForcedRevocation, old.KeyID)
			}
		})
	}
}

// TestWhenUnusedSweepListsOnce: a sweep that finds a replaced key still
// in use lists its owner's keys once - the sweeper's listing serves the
// last-use check too - and looks for other holders of the key only when
// it is about to revoke it.
func TestWhenUnusedSweepListsOnce(t *testing.T) {
	for _, k := range whenUnusedKinds {
		t.Run(k.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			o := k.o
			o.policy = "when-unused max-grace=24h quiet=1h"
			c := st.newConnection("once", o)
			old := st.doc(c, secretstore.Current)
			st.rotate(c)
			st.emu.Advance(30 * time.Minute)
			st.use(old)
			st.sweepRec.reset()
			st.sweepAfter(time.Minute)
			var listings, secretLists int
			for _, l := range st.sweepRec.calls() {
				switch {
				case strings.Contains(l, " DD GET "):
					listings++
				case strings.Contains(l, " SM ListSecrets "):
					secretLists++
				}
			}
			if listings != 1 || secretLists != 1 || !st.alive(c, old) {
				t.Fatalf("the sweep made %d Datadog listings and %d ListSecrets (want 1 and 1): %v", listings, secretLists, st.sweepRec.calls())
			}
		})
	}
}
