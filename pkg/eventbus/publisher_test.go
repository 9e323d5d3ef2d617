package eventbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/pkg/eventbus"
)

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/x-abcdef"

func TestPublish(t *testing.T) {
	s := newStandIn(t, busemu.Options{})
	p := s.publisher(t, nil)
	id, err := p.Publish(ctxT(t), "Connection Created", created{Name: "x", Site: "US5"}, secretARN)
	if err != nil {
		t.Fatal(err)
	}
	events := s.bus.EventsOf(eventbus.DefaultSource, "Connection Created")
	if len(events) != 1 || id == "" || events[0].ID != id || events[0].Bus != "ddconn" {
		t.Fatalf("Publish() = %q; recorded %+v", id, events)
	}
	var detail created
	if err := json.Unmarshal(events[0].Detail, &detail); err != nil || detail != (created{Name: "x", Site: "US5"}) {
		t.Fatalf("detail = %s, %v", events[0].Detail, err)
	}
	if len(events[0].Resources) != 1 || events[0].Resources[0] != secretARN || s.requests.Load() != 1 {
		t.Fatalf("resources = %v after %d requests", events[0].Resources, s.requests.Load())
	}
}

func TestPublishBusAndSource(t *testing.T) {
	s := newStandIn(t, busemu.Options{})
	tests := []struct {
		name, bus, source   string
		wantBus, wantSource string
	}{
		{name: "bus by ARN", bus: s.bus.BusARN("ddconn"), wantBus: "ddconn", wantSource: "ddconn"},
		{name: "default bus, own source", bus: "default", source: "ddconn.test", wantBus: "default", wantSource: "ddconn.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.publisher(t, func(o *eventbus.Options) { o.Bus, o.Source = tt.bus, tt.source })
			id, err := p.Publish(ctxT(t), "Rotation Failed", map[string]string{"secret": "x"})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range s.bus.Events() {
				if e.ID == id {
					if e.Bus != tt.wantBus || e.Source != tt.wantSource || len(e.Resources) != 0 {
						t.Fatalf("recorded %+v, want bus %s source %s", e, tt.wantBus, tt.wantSource)
					}
					return
				}
			}
			t.Fatalf("event %s not recorded", id)
		})
	}
}

func TestPublishFailedEntry(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		fault    busemu.Fault
		wantCode string
		wantKind error
	}{
		{name: "refused: reserved source", source: "aws.ddconn", wantCode: "NotAuthorizedForSourceException", wantKind: eventbus.ErrRejected},
		{name: "retryable: internal failure", fault: busemu.FaultFailedEntry, wantCode: "InternalFailure", wantKind: eventbus.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t, busemu.Options{})
			if tt.fault != 0 {
				s.bus.FailNext(1, tt.fault)
			}
			p := s.publisher(t, func(o *eventbus.Options) { o.Source = tt.source })
			_, err := p.Publish(ctxT(t), "Connection Created", created{Name: "x"})
			var entryErr *eventbus.EntryError
			if !errors.Is(err, tt.wantKind) || !errors.As(err, &entryErr) || entryErr.Code != tt.wantCode {
				t.Fatalf("Publish() error = %v, want %v with code %s", err, tt.wantKind, tt.wantCode)
			}
			if !strings.HasPrefix(err.Error(), `publishing "Connection Created" to bus ddconn: `) {
				t.Fatalf("error %q does not name the operation", err)
			}
			if n := s.requests.Load(); n != 1 {
				t.Fatalf("%d requests, want 1: the SDK does not retry a 200", n)
			}
			if n := len(s.bus.Events()); n != 0 {
				t.Fatalf("%d events recorded", n)
			}
		})
	}
}

func TestPublishRetries(t *testing.T) {
	tests := []struct {
		name         string
		fault        busemu.Fault
		faults       int
		maxAttempts  int
		wantErr      error
		wantRequests int32
		wantEvents   int
	}{
		{name: "throttled twice, then accepted", fault: busemu.FaultThrottling, faults: 2, maxAttempts: 3, wantRequests: 3, wantEvents: 1},
		{name: "throttled throughout", fault: busemu.FaultThrottling, faults: 10, maxAttempts: 3, wantErr: eventbus.ErrUnavailable, wantRequests: 3},
		{name: "persistent 500", fault: busemu.FaultInternalError, faults: 10, maxAttempts: 3, wantErr: eventbus.ErrUnavailable, wantRequests: 3},
		{name: "one 500, then accepted", fault: busemu.FaultInternalError, faults: 1, maxAttempts: 3, wantRequests: 2, wantEvents: 1},
		// The retry after a lost answer publishes the event a second time.
		{name: "lost answer, retried", fault: busemu.FaultLostAnswer, faults: 1, maxAttempts: 2, wantRequests: 2, wantEvents: 2},
		{name: "lost answer, no retry", fault: busemu.FaultLostAnswer, faults: 1, maxAttempts: 1, wantErr: eventbus.ErrUnavailable, wantRequests: 1, wantEvents: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t, busemu.Options{})
			s.bus.FailNext(tt.faults, tt.fault)
			p := s.publisher(t, func(o *eventbus.Options) { o.MaxAttempts = tt.maxAttempts })
			id, err := p.Publish(ctxT(t), "Provisioning Failed", created{Name: "x"})
			if tt.wantErr == nil && (err != nil || id == "") {
				t.Fatalf("Publish() = %q, %v; want success", id, err)
			}
			if tt.wantErr != nil && (!errors.Is(err, tt.wantErr) || errors.Is(err, eventbus.ErrRejected)) {
				t.Fatalf("Publish() error = %v, want only %v", err, tt.wantErr)
			}
			if n := s.requests.Load(); n != tt.wantRequests {
				t.Fatalf("%d requests, want %d", n, tt.wantRequests)
			}
			if n := len(s.bus.Events()); n != tt.wantEvents {
				t.Fatalf("%d events recorded, want %d", n, tt.wantEvents)
			}
		})
	}
}

func TestPublishRejectsBeforeSending(t *testing.T) {
	// The entry counts source "ddconn" (6 bytes), the detail-type "T" (1)
	// and the detail: pad makes the total exactly MaxEntrySize.
	pad := strings.Repeat("x", eventbus.MaxEntrySize-6-1-len(`{"p":""}`))
	tests := []struct {
		name       string
		detailType string
		detail     any
		resources  []string
	}{
		{name: "detail over the size limit", detailType: "T", detail: map[string]string{"p": pad + "x"}},
		{name: "resources count towards the size", detailType: "T", detail: map[string]string{"p": pad}, resources: []string{"arn:x"}},
		{name: "detail-type of 129 characters", detailType: strings.Repeat("é", 129), detail: created{}},
		{name: "empty detail-type", detailType: "", detail: created{}},
		{name: "detail an array", detailType: "T", detail: []string{"a"}},
		{name: "detail a string", detailType: "T", detail: "text"},
		{name: "detail nil", detailType: "T", detail: nil},
		{name: "detail a nil map", detailType: "T", detail: map[string]string(nil)},
		{name: "detail not marshallable", detailType: "T", detail: map[string]any{"c": make(chan int)}},
		{name: "resource over 2048 characters", detailType: "T", detail: created{}, resources: []string{strings.Repeat("a", 2049)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t, busemu.Options{})
			p := s.publisher(t, nil)
			_, err := p.Publish(ctxT(t), tt.detailType, tt.detail, tt.resources...)
			if !errors.Is(err, eventbus.ErrRejected) {
				t.Fatalf("Publish() error = %v, want ErrRejected", err)
			}
			if n := s.requests.Load(); n != 0 {
				t.Fatalf("%d requests sent, want none", n)
			}
		})
	}
	t.Run("at the limits", func(t *testing.T) {
		s := newStandIn(t, busemu.Options{})
		p := s.publisher(t, nil)
		if _, err := p.Publish(ctxT(t), "T", map[string]string{"p": pad}); err != nil {
			t.Fatalf("an entry of exactly MaxEntrySize: %v", err)
		}
		if _, err := p.Publish(ctxT(t), strings.Repeat("é", 128), created{}); err != nil {
			t.Fatalf("a detail-type of 128 characters: %v", err)
		}
	})
}

func TestPublishEndedContext(t *testing.T) {
	s := newStandIn(t, busemu.Options{})
	p := s.publisher(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Publish(ctx, "Connection Created", created{})
	if !errors.Is(err, eventbus.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish() error = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

// TestPublishToAMissingBus pins down EventBridge's behaviour, which the
// stand-in reproduces: the event is accepted and dropped, so Publish
// cannot report it.
func TestPublishToAMissingBus(t *testing.T) {
	s := newStandIn(t, busemu.Options{})
	p := s.publisher(t, func(o *eventbus.Options) { o.Bus = "ddcon" })
	id, err := p.Publish(ctxT(t), "Connection Created", created{})
	if err != nil || id == "" {
		t.Fatalf("Publish() = %q, %v; want an accepted event", id, err)
	}
	if dropped := s.bus.Dropped(); len(dropped) != 1 || dropped[0].ID != id || len(s.bus.Events()) != 0 {
		t.Fatalf("dropped %+v, recorded %d", dropped, len(s.bus.Events()))
	}
}
