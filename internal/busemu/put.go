package busemu

import (
	"context"
	"time"
)

// Entry is one PutEventsRequestEntry.
type Entry struct {
	// Source is the event's source; required.
	Source string
	// DetailType is the event's detail-type; required, at most 128 characters.
	DetailType string
	// Detail is the event's payload; required, a JSON object.
	Detail string
	// Resources are ARNs the event concerns; may be empty.
	Resources []string
	// EventBusName is the bus's name or ARN; "" means DefaultBus.
	EventBusName string
	// Time is the event's time; zero means when Put runs. (Not in the
	// brief's Entry: the HTTP operation needs it for entries that set Time.)
	Time time.Time
}

// PutResult is one PutEventsResultEntry: EventID on success, otherwise
// ErrorCode and ErrorMessage.
type PutResult struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// Put is PutEvents in process, the same code path as the HTTP operation. A
// request refused as a whole returns an *APIError; otherwise there is one
// PutResult per entry, in order, and entries fail one by one as on AWS.
// An injected FaultLostAnswer returns the results with ErrAnswerLost.
func (b *Bus) Put(ctx context.Context, entries ...Entry) ([]PutResult, error) {
	if err := checkRequest(entries); err != nil {
		return nil, err
	}
	fault := b.faults.take()
	if err := fault.apiError(); err != nil {
		return nil, err
	}
	now := b.now()
	results := make([]PutResult, len(entries))
	for i, e := range entries {
		if i == 0 && fault == FaultFailedEntry {
			results[i] = PutResult{ErrorCode: codeInternalFailure, ErrorMessage: "Injected InternalFailure (busemu fault injection)."}
			continue
		}
		results[i] = b.accept(ctx, e, now)
	}
	if fault == FaultLostAnswer {
		return results, ErrAnswerLost
	}
	return results, nil
}

// FailedCount is the FailedEntryCount of results.
func FailedCount(results []PutResult) int {
	n := 0
	for _, r := range results {
		if r.ErrorCode != "" {
			n++
		}
	}
	return n
}

// accept checks one entry and, if it passes, records it and hands it to
// the rules of its bus.
func (b *Bus) accept(ctx context.Context, e Entry, now time.Time) PutResult {
	if code, msg := checkEntry(e); code != "" {
		b.log.InfoContext(ctx, "event entry refused", "source", e.Source, "detailType", e.DetailType, "errorCode", code)
		return PutResult{ErrorCode: code, ErrorMessage: msg}
	}
	at := e.Time
	if at.IsZero() {
		at = now
	}
	ev := Event{
		Version:    "0",
		ID:         newUUID(),
		DetailType: e.DetailType,
		Source:     e.Source,
		Account:    b.account,
		Time:       eventTime(at),
		Region:     b.region,
		Resources:  append([]string{}, e.Resources...),
		Detail:     compactJSON(e.Detail),
	}
	bus, known := b.resolveBus(e.EventBusName)
	attrs := []any{"eventId", ev.ID, "bus", bus, "source", ev.Source, "detailType", ev.DetailType}
	if !known {
		// EventBridge accepts events for a bus that does not exist and
		// drops them (see doc.go); warn, since it is almost always a typo.
		ev.Bus = bus
		b.mu.Lock()
		b.dropped = append(b.dropped, ev)
		b.mu.Unlock()
		b.log.WarnContext(ctx, "event for an unknown bus accepted and dropped, as EventBridge does", attrs...)
		return PutResult{EventID: ev.ID}
	}
	ev.Bus = bus
	b.log.InfoContext(ctx, "event put", attrs...)
	b.record(ctx, ev)
	return PutResult{EventID: ev.ID}
}

// resolveBus names the bus an EventBusName designates and whether it
// exists here; an ARN of another account or region never does.
func (b *Bus) resolveBus(nameOrARN string) (string, bool) {
	if nameOrARN == "" {
		return DefaultBus, true
	}
	ref, _ := parseBusRef(nameOrARN) // checkRequest validated it
	if ref.region != "" && (ref.region != b.region || ref.account != b.account) {
		return nameOrARN, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return ref.name, b.buses[ref.name]
}

// record appends ev to the events and schedules a delivery to every
// matching rule: on ev.Bus, or on any bus when ev.Bus is "" (Inject).
func (b *Bus) record(ctx context.Context, ev Event) {
	b.mu.Lock()
	b.events = append(b.events, ev)
	var targets []Rule
	for _, r := range b.rules {
		if (ev.Bus == "" || r.Bus == ev.Bus) && r.matches(ev) {
			targets = append(targets, r)
		}
	}
	b.mu.Unlock()
	payload, ingested := ev.JSON(), b.now()
	for _, r := range targets {
		if r.InputTransformer != nil {
			b.deliver(ctx, r, ev, r.InputTransformer.render(ev, r.Name, b.RuleARN(r.Bus, r.Name), ingested))
			continue
		}
		b.deliver(ctx, r, ev, payload)
	}
}
