package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestEventBridgeEvent(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Second)
	raw, err := EventBridgeEvent("6a7e8feb-b491-4cf7-a9f1-bf3703467718", "ddconn.requests", "Create Connection",
		map[string]any{"name": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("the envelope has no %q: %s", name, raw)
		}
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Version != "0" || ev.ID != "6a7e8feb-b491-4cf7-a9f1-bf3703467718" || ev.Source != "ddconn.requests" ||
		ev.DetailType != "Create Connection" || ev.AccountID != AccountID || ev.Region != Region {
		t.Errorf("envelope %+v, want version 0 with the given id, source and detail-type in the stack's account and region", ev)
	}
	if ev.Time.Before(before) || ev.Time.After(time.Now()) || ev.Time.Nanosecond() != 0 {
		t.Errorf("time %v, want now in whole seconds", ev.Time)
	}
	if string(fields["resources"]) != "[]" || string(ev.Detail) != `{"name":"prod"}` {
		t.Errorf("resources %s, detail %s; want [] and the detail as given", fields["resources"], ev.Detail)
	}

	raw, err = EventBridgeEvent("id", "s", "t", json.RawMessage(`{"kept":"as is"}`))
	if err != nil || json.Unmarshal(raw, &ev) != nil || string(ev.Detail) != `{"kept":"as is"}` {
		t.Errorf("a json.RawMessage detail: %s, %v; want it sent as it is", raw, err)
	}
	if _, err := EventBridgeEvent("id", "s", "t", json.RawMessage(`{not json`)); err == nil {
		t.Error("a detail that is not JSON: no error")
	}
}
