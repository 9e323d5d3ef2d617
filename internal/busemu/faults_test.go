package busemu

import (
	"errors"
	"testing"
)

func TestFailNext(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantType   string // whole-request error type; "" = answered
		wantStatus int
		wantCode   string // first entry's code
		wantEvents int    // of the two entries put
		wantLost   bool
	}{
		{name: "internal error", fault: FaultInternalError, wantType: typeInternal, wantStatus: 500},
		{name: "throttling", fault: FaultThrottling, wantType: typeThrottling, wantStatus: 400},
		{name: "failed entry", fault: FaultFailedEntry, wantCode: codeInternalFailure, wantEvents: 1},
		{name: "lost answer", fault: FaultLostAnswer, wantEvents: 2, wantLost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, Options{})
			b.FailNext(1, tt.fault)
			results, err := b.Put(ctxT(t), validEntry(), validEntry())
			var apiErr *APIError
			switch {
			case tt.wantType != "":
				if !errors.As(err, &apiErr) || apiErr.Type != tt.wantType || apiErr.Status != tt.wantStatus {
					t.Fatalf("Put() error = %v, want %d %s", err, tt.wantStatus, tt.wantType)
				}
			case tt.wantLost:
				if !errors.Is(err, ErrAnswerLost) || len(results) != 2 {
					t.Fatalf("Put() = %+v, %v; want the results and ErrAnswerLost", results, err)
				}
			default:
				if err != nil || results[0].ErrorCode != tt.wantCode || FailedCount(results) != 1 || results[1].EventID == "" {
					t.Fatalf("Put() = %+v, %v; want the first entry failed with %s", results, err, tt.wantCode)
				}
			}
			if n := len(b.Events()); n != tt.wantEvents {
				t.Fatalf("%d events recorded, want %d", n, tt.wantEvents)
			}
			// The fault was for one call only.
			if results, err := b.Put(ctxT(t), validEntry()); err != nil || FailedCount(results) != 0 {
				t.Fatalf("next Put() = %+v, %v; want success", results, err)
			}
		})
	}
}

func TestFailNextCountsCallsInOrder(t *testing.T) {
	b := newBus(t, Options{})
	b.FailNext(2, FaultThrottling)
	b.FailNext(1, FaultInternalError)
	// A request refused by validation uses no fault up.
	if _, err := b.Put(ctxT(t)); err == nil {
		t.Fatal("Put() with no entries succeeded")
	}
	var got []string
	for range 4 {
		_, err := b.Put(ctxT(t), validEntry())
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			got = append(got, apiErr.Type)
		} else {
			got = append(got, "ok")
		}
	}
	want := []string{typeThrottling, typeThrottling, typeInternal, "ok"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls answered %v, want %v", got, want)
		}
	}
}
