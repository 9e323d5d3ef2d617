package busemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Inject hands an event envelope to the matching rules as EventBridge
// would, and records it; it returns the event id. `make dev` uses it to
// inject events (POST /_dev/events) that no PutEvents produced.
//
// A partial envelope is completed: a missing id (a new UUID), time (now),
// account, region, version ("0") and resources ([]) are filled in; source,
// detail-type and a JSON-object detail are required. The envelope names no
// bus, so the rules of every bus are matched; InjectOn names one.
func (b *Bus) Inject(ctx context.Context, event []byte) (string, error) {
	return b.InjectOn(ctx, "", event)
}

// InjectOn is Inject through the rules of the existing bus called bus only
// ("" matches the rules of every bus, as Inject).
func (b *Bus) InjectOn(ctx context.Context, bus string, event []byte) (string, error) {
	if bus != "" {
		b.mu.Lock()
		known := b.buses[bus]
		b.mu.Unlock()
		if !known {
			return "", fmt.Errorf("busemu: delivering an event: event bus %s does not exist", bus)
		}
	}
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(event))
	if err := dec.Decode(&ev); err != nil {
		return "", fmt.Errorf("busemu: delivering an event: not an event envelope: %w", err)
	}
	if err := b.complete(&ev); err != nil {
		return "", fmt.Errorf("busemu: delivering an event: %w", err)
	}
	ev.Bus = bus
	b.log.InfoContext(ctx, "event delivered by hand", "eventId", ev.ID, "bus", bus, "source", ev.Source, "detailType", ev.DetailType)
	b.record(ctx, ev)
	return ev.ID, nil
}

// complete checks a handed-in envelope and fills in what EventBridge would
// have set.
func (b *Bus) complete(ev *Event) error {
	switch {
	case ev.Source == "":
		return errors.New(`the envelope has no "source"`)
	case ev.DetailType == "":
		return errors.New(`the envelope has no "detail-type"`)
	case !isJSONObject(string(ev.Detail)):
		return errors.New(`the envelope's "detail" is not a JSON object`)
	}
	ev.Detail = compactJSON(string(ev.Detail))
	if ev.Version == "" {
		ev.Version = "0"
	}
	if ev.ID == "" {
		ev.ID = newUUID()
	}
	if ev.Account == "" {
		ev.Account = b.account
	}
	if ev.Region == "" {
		ev.Region = b.region
	}
	if ev.Time.IsZero() {
		ev.Time = b.now()
	}
	ev.Time = eventTime(ev.Time)
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	ev.Bus = ""
	return nil
}
