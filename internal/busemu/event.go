package busemu

import (
	"encoding/json"
	"slices"
	"time"
)

// Event is an event as EventBridge hands it to a rule's target: the
// envelope of aws-lambda-go's events.EventBridgeEvent
// (events.CloudWatchEvent), plus the bus it was put on.
type Event struct {
	// Version is always "0".
	Version string `json:"version"`
	// ID is the event id PutEvents answered with.
	ID string `json:"id"`
	// DetailType is the entry's DetailType.
	DetailType string `json:"detail-type"`
	// Source is the entry's Source.
	Source string `json:"source"`
	// Account is the account of the bus.
	Account string `json:"account"`
	// Time is the entry's Time or when it was put, in UTC, whole seconds:
	// it marshals as RFC 3339 such as "2025-01-02T03:04:05Z".
	Time time.Time `json:"time"`
	// Region is the region of the bus.
	Region string `json:"region"`
	// Resources are the entry's Resources; never nil, so it marshals as [].
	Resources []string `json:"resources"`
	// Detail is the entry's Detail, a compact JSON object.
	Detail json.RawMessage `json:"detail"`
	// Bus is the name of the bus the event was put on: for Dropped events
	// the EventBusName as given, the bus named to InjectOn, and "" for
	// events handed to Inject. It is not part of the envelope.
	Bus string `json:"-"`
}

// JSON returns the envelope exactly as a target receives it.
func (e Event) JSON() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		// Detail is a validated, compacted JSON object and every other
		// field is a string or a time: Marshal cannot fail.
		panic("busemu: marshalling an event: " + err.Error())
	}
	return b
}

// eventTime is how EventBridge writes an event's time: UTC, whole seconds.
func eventTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Second)
}

// Events returns the events accepted on existing buses, in the order they
// were put (or handed to Inject).
func (b *Bus) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return cloneEvents(b.events)
}

// EventsOf returns the events with the given source and detail-type; ""
// matches any.
func (b *Bus) EventsOf(source, detailType string) []Event {
	var out []Event
	for _, e := range b.Events() {
		if (source == "" || e.Source == source) && (detailType == "" || e.DetailType == detailType) {
			out = append(out, e)
		}
	}
	return out
}

// Dropped returns the events PutEvents accepted for a bus that does not
// exist. EventBridge answers those with an EventId and silently drops them;
// the stand-in keeps them here so a test can see the mistake.
func (b *Bus) Dropped() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return cloneEvents(b.dropped)
}

func cloneEvents(events []Event) []Event {
	out := slices.Clone(events)
	for i := range out {
		out[i].Resources = slices.Clone(out[i].Resources)
		out[i].Detail = slices.Clone(out[i].Detail)
	}
	return out
}
