package rotation_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// TestKeyEvents: every rotation of a connection and of both managed kinds
// publishes Key Rotated (the new version and key, the previous key and
// when it goes), and every revocation of a retired key Key Revoked, by
// the rotation or by the sweeper. The stack checks that no event carries
// key material.
func TestKeyEvents(t *testing.T) {
	kinds := []struct {
		name, kind, conn, key string
		o                     connOptions
	}{
		{"connection", rotation.KindConnection, "evconn", "", connOptions{scopes: matrixScopes}},
		{"managed application key", rotation.KindApplicationKey, "evapp-conn", "evapp", connOptions{managed: true, scopes: matrixScopes}},
		{"managed API key", rotation.KindAPIKey, "evapi-conn", "evapi", connOptions{managedAPIKey: true}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			name := k.conn
			if k.key != "" {
				name = k.key
			}
			c := st.newConnection(name, k.o)
			subject := func(s rotation.Subject) bool {
				return s.SecretARN == c.arn && s.SecretName == st.describe(c).Name && s.Connection == k.conn && s.Kind == k.kind && s.Name == k.key
			}

			token1 := st.rotate(c)
			first := st.doc(c, secretstore.Current)
			rotated := of[rotation.Rotated](t, st.events, rotation.RotatedEvent, c.arn)
			if len(rotated) != 1 {
				t.Fatalf("after one rotation: Key Rotated %+v, want one", rotated)
			}
			if e := rotated[0]; !subject(e.Subject) || e.VersionID != token1 || e.RequestID != token1 || e.KeyID != first.KeyID ||
				e.PreviousKeyID != c.origKeyID || e.RevokePrevious != "next-rotation" || e.PreviousKeyRevokeAt != nil || e.RotatedAt.IsZero() {
				t.Errorf("Key Rotated %+v, want version %s, key %s replacing %s, revoked at the next rotation", e, token1, first.KeyID, c.origKeyID)
			}
			if revoked := of[rotation.Revoked](t, st.events, rotation.RevokedEvent, c.arn); len(revoked) != 0 {
				t.Fatalf("Key Revoked %+v while both keys are labelled", revoked)
			}

			token2 := st.rotate(c)
			rotated = of[rotation.Rotated](t, st.events, rotation.RotatedEvent, c.arn)
			if len(rotated) != 2 || rotated[1].VersionID != token2 || rotated[1].PreviousKeyID != first.KeyID {
				t.Fatalf("after two rotations: Key Rotated %+v", rotated)
			}
			revoked := of[rotation.Revoked](t, st.events, rotation.RevokedEvent, c.arn)
			if len(revoked) != 1 || !subject(revoked[0].Subject) || revoked[0].KeyID != c.origKeyID ||
				revoked[0].Reason != rotation.ReasonNextRotation || revoked[0].RevokedAt.IsZero() {
				t.Fatalf("Key Revoked %+v, want one for %s at the next rotation", revoked, c.origKeyID)
			}
		})
	}
}

// TestKeyEventsOfGracePeriod: under after:<duration> Key Rotated says when
// the previous key goes, and the sweeper publishes Key Revoked once it has.
func TestKeyEventsOfGracePeriod(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("evgrace", connOptions{policy: "after:1h", scopes: matrixScopes})
	st.rotate(c)
	rotated := of[rotation.Rotated](t, st.events, rotation.RotatedEvent, c.arn)
	if len(rotated) != 1 || rotated[0].PreviousKeyRevokeAt == nil || rotated[0].RevokePrevious != "after:1h" ||
		rotated[0].PreviousKeyRevokeAt.Sub(rotated[0].RotatedAt).Round(time.Second) != time.Hour {
		t.Fatalf("Key Rotated %+v, want the previous key revoked an hour after the rotation", rotated)
	}
	st.sweepAfter(30 * time.Minute)
	if revoked := of[rotation.Revoked](t, st.events, rotation.RevokedEvent, c.arn); len(revoked) != 0 {
		t.Fatalf("Key Revoked %+v within the grace period", revoked)
	}
	st.sweepAfter(31 * time.Minute)
	revoked := of[rotation.Revoked](t, st.events, rotation.RevokedEvent, c.arn)
	if len(revoked) != 1 || revoked[0].KeyID != c.origKeyID || revoked[0].Reason != rotation.ReasonDue {
		t.Fatalf("Key Revoked %+v, want one for %s, due", revoked, c.origKeyID)
	}
}

// eventLog records the events a stack's rotator and sweeper publish, as
// the JSON EventBridge would carry.
type eventLog struct {
	mu     sync.Mutex
	events []published
}

type published struct {
	detailType string
	detail     []byte
	resources  []string
}

func (l *eventLog) Publish(_ context.Context, detailType string, detail any, resources ...string) (string, error) {
	b, err := json.Marshal(detail)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, published{detailType: detailType, detail: b, resources: resources})
	return "event-" + strconv.Itoa(len(l.events)), nil
}

// String is every detail published, one a line.
func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		b.WriteString(e.detailType + " " + string(e.detail) + "\n")
	}
	return b.String()
}

// of decodes the details of every event of one detail type about the
// secret arn, in the order published.
func of[T any](t *testing.T, l *eventLog, detailType, arn string) []T {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []T
	for _, e := range l.events {
		if e.detailType != detailType || !slices.Contains(e.resources, arn) {
			continue
		}
		var d T
		if err := json.Unmarshal(e.detail, &d); err != nil {
			t.Fatalf("%s detail %s: %v", detailType, e.detail, err)
		}
		out = append(out, d)
	}
	return out
}

// index is the position of the first event of detailType about arn; -1
// if none.
func (l *eventLog) index(detailType, arn string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.events {
		if e.detailType == detailType && slices.Contains(e.resources, arn) {
			return i
		}
	}
	return -1
}
