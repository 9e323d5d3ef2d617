package busemu

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestInjectCompletesAPartialEnvelope(t *testing.T) {
	b := newBus(t, Options{Region: "eu-central-1", Account: "111122223333", Buses: []string{"ddconn"}})
	target := &recorder{}
	if err := b.AddRule(Rule{Name: "create", Bus: "ddconn", Sources: []string{"ddconn.requests"}, Target: target}); err != nil {
		t.Fatal(err)
	}
	id, err := b.Inject(ctxT(t), []byte(`{"source":"ddconn.requests","detail-type":"Connection Requested","detail":{ "name": "x" }}`))
	if err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	if target.count() != 1 {
		t.Fatalf("the rule got %d events, want 1 (Inject matches rules on every bus)", target.count())
	}
	var got map[string]any
	if err := json.Unmarshal(target.events[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "0", "id": id, "detail-type": "Connection Requested", "source": "ddconn.requests",
		"account": "111122223333", "time": "2025-03-04T05:06:07Z", "region": "eu-central-1",
		"resources": []any{}, "detail": map[string]any{"name": "x"},
	}
	if !jsonEqual(got, want) || len(id) != 36 {
		t.Fatalf("delivered %s (id %q)\nwant %v", target.events[0], id, want)
	}
	if events := b.EventsOf("ddconn.requests", ""); len(events) != 1 || events[0].ID != id {
		t.Fatalf("recorded %+v, want the delivered event", events)
	}
}

func TestInjectKeepsACompleteEnvelope(t *testing.T) {
	b := newBus(t, Options{})
	target := &recorder{}
	if err := b.AddRule(Rule{Name: "r", Target: target}); err != nil {
		t.Fatal(err)
	}
	envelope := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Connection Requested","source":"ddconn.requests",` +
		`"account":"999999999999","time":"2024-12-31T23:59:59Z","region":"ap-south-1","resources":["arn:x"],"detail":{"a":1}}`
	id, err := b.Inject(ctxT(t), []byte(envelope))
	if err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	if id != "6a7e8feb-b491-4cf7-a9f1-bf3703467718" || target.count() != 1 || string(target.events[0]) != envelope {
		t.Fatalf("Inject() = %q; delivered %s\nwant %s", id, target.events, envelope)
	}
}

func TestInjectRefusesIncompleteEvents(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  string
	}{
		{name: "not JSON", event: `{"source":`, want: "not an event envelope"},
		{name: "no source", event: `{"detail-type":"d","detail":{}}`, want: `"source"`},
		{name: "no detail-type", event: `{"source":"s","detail":{}}`, want: `"detail-type"`},
		{name: "no detail", event: `{"source":"s","detail-type":"d"}`, want: `"detail"`},
		{name: "detail an array", event: `{"source":"s","detail-type":"d","detail":[1]}`, want: `"detail"`},
		{name: "time not RFC 3339", event: `{"source":"s","detail-type":"d","detail":{},"time":"yesterday"}`, want: "not an event envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, Options{})
			if _, err := b.Inject(ctxT(t), []byte(tt.event)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Inject() error = %v, want one mentioning %s", err, tt.want)
			}
			if len(b.Events()) != 0 {
				t.Fatal("a refused event was recorded")
			}
		})
	}
}

func TestLogsNeverCarryDetail(t *testing.T) {
	const marker = "user-data-4f1c"
	logger, logs := captureLogs()
	b := newBus(t, Options{Logger: logger, RetryDelays: []time.Duration{}})
	if err := b.AddRule(Rule{Name: "failing", Target: &recorder{failures: 1}}); err != nil {
		t.Fatal(err)
	}
	detail := `{"secret":"` + marker + `"}`
	if _, err := b.Put(ctxT(t), Entry{Source: "s", DetailType: "d", Detail: detail}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctxT(t), Entry{Source: "s", DetailType: "d", Detail: detail, EventBusName: "unknown"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Inject(ctxT(t), []byte(`{"source":"s","detail-type":"d","detail":`+detail+`}`)); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	out := logs.String()
	if !strings.Contains(out, "dead-lettered") || !strings.Contains(out, "dropped") {
		t.Fatalf("logs lack the delivery records: %s", out)
	}
	if strings.Contains(out, marker) {
		t.Fatal("a log record carries an event's Detail")
	}
}
