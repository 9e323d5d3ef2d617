package busemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Target that remembers every attempt and fails the first
// failures of them.
type recorder struct {
	mu       sync.Mutex
	failures int
	attempts []time.Time
	events   [][]byte
}

func (r *recorder) Deliver(_ context.Context, event []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, time.Now())
	r.events = append(r.events, event)
	if len(r.attempts) <= r.failures {
		return fmt.Errorf("attempt %d failed", len(r.attempts))
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.attempts)
}

func TestRulesMatchSourceAndDetailType(t *testing.T) {
	b := newBus(t, Options{Buses: []string{"ddconn"}})
	requests, outcomes, everything, other := &recorder{}, &recorder{}, &recorder{}, &recorder{}
	for _, r := range []Rule{
		{Name: "create", Bus: "ddconn", Sources: []string{"ddconn.requests"}, Target: requests},
		{Name: "outcomes", Bus: b.BusARN("ddconn"), Sources: []string{"ddconn"}, DetailTypes: []string{"Connection Created", "Provisioning Failed"}, Target: outcomes},
		{Name: "all", Bus: "ddconn", Target: everything},
		{Name: "default-bus", Sources: []string{"ddconn.requests"}, Target: other},
	} {
		if err := b.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	put := func(source, detailType string) {
		t.Helper()
		if _, err := b.Put(ctxT(t), Entry{Source: source, DetailType: detailType, Detail: "{}", EventBusName: "ddconn"}); err != nil {
			t.Fatal(err)
		}
	}
	put("ddconn.requests", "Connection Requested")
	put("ddconn", "Connection Created")
	put("ddconn", "Rotation Failed")
	idle(t, b)
	for name, tt := range map[string]struct {
		r    *recorder
		want int
	}{"create": {requests, 1}, "outcomes": {outcomes, 1}, "all": {everything, 3}, "default-bus": {other, 0}} {
		if got := tt.r.count(); got != tt.want {
			t.Errorf("rule %s got %d events, want %d", name, got, tt.want)
		}
	}
	var env map[string]any
	if err := json.Unmarshal(requests.events[0], &env); err != nil || env["source"] != "ddconn.requests" || env["detail-type"] != "Connection Requested" || env["version"] != "0" {
		t.Fatalf("delivered %s, %v; want the envelope", requests.events[0], err)
	}
}

func TestAddRule(t *testing.T) {
	b := newBus(t, Options{})
	tests := []struct {
		name    string
		rule    Rule
		wantErr bool
	}{
		{name: "no target", rule: Rule{Name: "r"}, wantErr: true},
		{name: "no name", rule: Rule{Target: &recorder{}}, wantErr: true},
		{name: "unknown bus", rule: Rule{Name: "r", Bus: "nope", Target: &recorder{}}, wantErr: true},
		{name: "invalid bus name", rule: Rule{Name: "r", Bus: "a b", Target: &recorder{}}, wantErr: true},
		{name: "default bus", rule: Rule{Name: "r", Target: &recorder{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := b.AddRule(tt.rule); (err != nil) != tt.wantErr {
				t.Fatalf("AddRule() error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestAddRuleReplacesTheSameName(t *testing.T) {
	b := newBus(t, Options{})
	first, second := &recorder{}, &recorder{}
	if err := b.AddRule(Rule{Name: "r", Target: first}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRule(Rule{Name: "r", Target: second}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctxT(t), validEntry()); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	if first.count() != 0 || second.count() != 1 {
		t.Fatalf("first got %d, second %d; want only the replacement", first.count(), second.count())
	}
}

func TestDeliveryRetries(t *testing.T) {
	delays := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	tests := []struct {
		name         string
		failures     int
		wantAttempts int
		wantDead     bool
	}{
		{name: "first attempt succeeds", failures: 0, wantAttempts: 1},
		{name: "second retry succeeds", failures: 2, wantAttempts: 3},
		{name: "every attempt fails", failures: 99, wantAttempts: 3, wantDead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t, Options{RetryDelays: delays})
			target := &recorder{failures: tt.failures}
			if err := b.AddRule(Rule{Name: "r", Target: target}); err != nil {
				t.Fatal(err)
			}
			results, err := b.Put(ctxT(t), validEntry())
			if err != nil {
				t.Fatal(err)
			}
			idle(t, b)
			if target.count() != tt.wantAttempts {
				t.Fatalf("%d attempts, want %d", target.count(), tt.wantAttempts)
			}
			for i := 1; i < len(target.attempts); i++ {
				if gap := target.attempts[i].Sub(target.attempts[i-1]); gap < delays[i-1] {
					t.Fatalf("retry %d came %v after the attempt before, want at least %v", i, gap, delays[i-1])
				}
			}
			dead := b.DeadLetters()
			if !tt.wantDead {
				if len(dead) != 0 {
					t.Fatalf("dead letters = %+v, want none", dead)
				}
				return
			}
			if len(dead) != 1 || dead[0].Rule != "r" || dead[0].Event.ID != results[0].EventID || dead[0].Attempts != 3 || dead[0].Err != "attempt 3 failed" {
				t.Fatalf("dead letters = %+v, want the event after 3 attempts", dead)
			}
		})
	}
}

func TestNoRetriesWithEmptyDelays(t *testing.T) {
	b := newBus(t, Options{RetryDelays: []time.Duration{}})
	target := &recorder{failures: 99}
	if err := b.AddRule(Rule{Name: "r", Target: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctxT(t), validEntry()); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	if target.count() != 1 || len(b.DeadLetters()) != 1 {
		t.Fatalf("%d attempts, %d dead letters; want 1 and 1", target.count(), len(b.DeadLetters()))
	}
}

func TestDefaultRetryDelays(t *testing.T) {
	b := newBus(t, Options{})
	if len(b.retryDelays) != 2 || b.retryDelays[0] != time.Minute || b.retryDelays[1] != 2*time.Minute {
		t.Fatalf("retry delays = %v, want Lambda's [1m 2m]", b.retryDelays)
	}
}

func TestPanickingTargetIsAFailedAttempt(t *testing.T) {
	b := newBus(t, Options{RetryDelays: []time.Duration{}})
	if err := b.AddRule(Rule{Name: "r", Target: TargetFunc(func(context.Context, []byte) error { panic("boom") })}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctxT(t), validEntry()); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	if dead := b.DeadLetters(); len(dead) != 1 || !strings.Contains(dead[0].Err, "boom") {
		t.Fatalf("dead letters = %+v, want the panic", dead)
	}
}

func TestIdleWaitsForDeliveries(t *testing.T) {
	b := newBus(t, Options{})
	release := make(chan struct{})
	if err := b.AddRule(Rule{Name: "r", Target: TargetFunc(func(context.Context, []byte) error {
		<-release
		return nil
	})}); err != nil {
		t.Fatal(err)
	}
	if err := b.Idle(ctxT(t)); err != nil {
		t.Fatalf("Idle() with nothing to deliver = %v", err)
	}
	if _, err := b.Put(ctxT(t), validEntry()); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Idle(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Idle() during a delivery = %v, want the context's deadline", err)
	}
	close(release)
	idle(t, b)
}

func TestCloseStopsDeliveries(t *testing.T) {
	b, err := New(Options{RetryDelays: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	target := &recorder{failures: 99}
	cancelled := make(chan error, 1)
	if err := b.AddRule(Rule{Name: "retrying", Target: target}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRule(Rule{Name: "blocking", Target: TargetFunc(func(ctx context.Context, _ []byte) error {
		<-ctx.Done()
		cancelled <- ctx.Err()
		return ctx.Err()
	})}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctxT(t), validEntry()); err != nil {
		t.Fatal(err)
	}
	for target.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		_ = b.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close() did not return: it must abandon the hour-long retry")
	}
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("the running target saw %v, want its context cancelled", err)
	}
	if target.count() != 1 || len(b.DeadLetters()) != 0 {
		t.Fatalf("%d attempts and %d dead letters after Close, want 1 and 0", target.count(), len(b.DeadLetters()))
	}
	// After Close, events are recorded but not delivered.
	if _, err := b.Put(ctxT(t), validEntry()); err != nil || len(b.Events()) != 2 {
		t.Fatalf("Put after Close = %v, %d events", err, len(b.Events()))
	}
	if err := b.Idle(ctxT(t)); err != nil {
		t.Fatalf("Idle() after Close = %v", err)
	}
}
