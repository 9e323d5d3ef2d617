package busemu

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPutRefusesTheRequest(t *testing.T) {
	long := strings.Repeat("r", maxResourceLength+1)
	tests := []struct {
		name    string
		entries []Entry
		want    string // part of the message
	}{
		{name: "no entries (null)", entries: nil, want: "must not be null"},
		{name: "no entries (empty)", entries: []Entry{}, want: "greater than or equal to 1"},
		{name: "eleven entries", entries: make([]Entry, 11), want: "less than or equal to 10"},
		{name: "bus name with a space", entries: []Entry{{Source: "s", DetailType: "d", Detail: "{}", EventBusName: "my bus"}}, want: "entries.1.member.eventBusName"},
		{name: "bus ARN of another service", entries: []Entry{{Source: "s", DetailType: "d", Detail: "{}", EventBusName: "arn:aws:sqs:us-east-1:123456789012:event-bus/x"}}, want: "eventBusName"},
		{name: "resource too long", entries: []Entry{validEntry(), {Source: "s", DetailType: "d", Detail: "{}", Resources: []string{long}}}, want: "entries.2.member.resources"},
		{name: "total size one byte over", entries: []Entry{sizedEntry(maxRequestSize/2 + 1), sizedEntry(maxRequestSize / 2)}, want: "Total size of the entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, Options{})
			results, err := b.Put(ctxT(t), tt.entries...)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Type != typeValidation || apiErr.Status != 400 || !strings.Contains(apiErr.Message, tt.want) {
				t.Fatalf("Put() = %v, %v; want a 400 ValidationException containing %q", results, err, tt.want)
			}
			if n := len(b.Events()); n != 0 {
				t.Fatalf("%d events recorded", n)
			}
		})
	}
}

// sizedEntry returns a valid entry that counts exactly size bytes.
func sizedEntry(size int) Entry {
	e := Entry{Source: "s", DetailType: "d"}
	e.Detail = `{"p":"` + strings.Repeat("x", size-2-len(`{"p":""}`)) + `"}`
	return e
}

func TestPutSizeLimit(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		wantErr bool
	}{
		{name: "exactly the limit", entries: []Entry{sizedEntry(maxRequestSize)}},
		{name: "one byte over", entries: []Entry{sizedEntry(maxRequestSize + 1)}, wantErr: true},
		{name: "Time counts 14 bytes", entries: []Entry{withTime(sizedEntry(maxRequestSize - 13))}, wantErr: true},
		{name: "resources count: at the limit", entries: []Entry{withResource(sizedEntry(maxRequestSize-3), "arn")}},
		{name: "resources count: over", entries: []Entry{withResource(sizedEntry(maxRequestSize-2), "arn")}, wantErr: true},
		{name: "multi-byte characters count as bytes", entries: []Entry{{Source: "s", DetailType: "d", Detail: `{"p":"` + strings.Repeat("é", maxRequestSize/2) + `"}`}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, Options{})
			_, err := b.Put(ctxT(t), tt.entries...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Put() error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func withTime(e Entry) Entry {
	e.Time = fixedNow
	return e
}

func withResource(e Entry, r string) Entry {
	e.Resources = append(e.Resources, r)
	return e
}

func TestPutFailsEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		code  string
	}{
		{name: "empty Source", entry: Entry{DetailType: "d", Detail: "{}"}, code: codeInvalidArgument},
		{name: "Detail null", entry: Entry{Source: "s", DetailType: "d", Detail: "null"}, code: codeMalformedDetail},
		{name: "Detail a number", entry: Entry{Source: "s", DetailType: "d", Detail: "1"}, code: codeMalformedDetail},
		{name: "Detail two objects", entry: Entry{Source: "s", DetailType: "d", Detail: "{} {}"}, code: codeMalformedDetail},
		{name: "reserved source", entry: Entry{Source: "aws.ddconn", DetailType: "d", Detail: "{}"}, code: codeNotAuthorized},
		{name: "DetailType of 129 characters", entry: Entry{Source: "s", DetailType: strings.Repeat("é", 129), Detail: "{}"}, code: codeInvalidArgument},
		{name: "DetailType of 128 characters", entry: Entry{Source: "s", DetailType: strings.Repeat("é", 128), Detail: "{}"}, code: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, Options{})
			results, err := b.Put(ctxT(t), tt.entry)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 1 || results[0].ErrorCode != tt.code || (tt.code == "") != (results[0].EventID != "") {
				t.Fatalf("Put() = %+v, want code %q", results, tt.code)
			}
			if tt.code != "" && results[0].ErrorMessage == "" {
				t.Fatal("a failed entry has no ErrorMessage")
			}
		})
	}
}

func TestPutRecordsTheEnvelope(t *testing.T) {
	b := newBus(t, Options{Region: "eu-west-1", Account: "111122223333"})
	entries := []Entry{
		{Source: "ddconn", DetailType: "Connection Created", Detail: "{ \"name\" : \"x\",\n \"n\": [1, 2] }",
			Resources: []string{"arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-abcdef"}},
		{Source: "ddconn", DetailType: "Old", Detail: "{}", Time: time.Date(2022, 1, 1, 12, 0, 0, 999, time.FixedZone("CET", 3600))},
	}
	results, err := b.Put(ctxT(t), entries...)
	if err != nil || FailedCount(results) != 0 {
		t.Fatalf("Put() = %+v, %v", results, err)
	}
	events := b.Events()
	if len(events) != 2 || events[0].ID != results[0].EventID || events[0].Bus != DefaultBus {
		t.Fatalf("events = %+v", events)
	}
	var got map[string]any
	if err := json.Unmarshal(events[0].JSON(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "0", "id": results[0].EventID, "detail-type": "Connection Created", "source": "ddconn",
		"account": "111122223333", "time": "2025-03-04T05:06:07Z", "region": "eu-west-1",
		"resources": []any{"arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-abcdef"},
		"detail":    map[string]any{"name": "x", "n": []any{1.0, 2.0}},
	}
	if !jsonEqual(got, want) {
		t.Fatalf("envelope = %s\nwant %v", events[0].JSON(), want)
	}
	if string(events[0].Detail) != `{"name":"x","n":[1,2]}` {
		t.Fatalf("detail = %s, want it compacted", events[0].Detail)
	}
	if !strings.Contains(string(events[1].JSON()), `"time":"2022-01-01T11:00:00Z"`) || !strings.Contains(string(events[1].JSON()), `"resources":[]`) {
		t.Fatalf("second envelope = %s, want the entry's time in UTC seconds and resources []", events[1].JSON())
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestPutBuses(t *testing.T) {
	b := newBus(t, Options{Buses: []string{"ddconn"}})
	tests := []struct {
		name    string
		bus     string
		wantBus string // "" = dropped
	}{
		{name: "default", bus: "", wantBus: DefaultBus},
		{name: "custom by name", bus: "ddconn", wantBus: "ddconn"},
		{name: "custom by ARN", bus: b.BusARN("ddconn"), wantBus: "ddconn"},
		{name: "unknown name", bus: "ddcon"},
		{name: "ARN in another account", bus: "arn:aws:events:us-east-1:999999999999:event-bus/ddconn"},
		{name: "ARN in another region", bus: "arn:aws:events:eu-west-1:123456789012:event-bus/ddconn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEntry()
			e.EventBusName = tt.bus
			results, err := b.Put(ctxT(t), e)
			if err != nil || results[0].EventID == "" {
				t.Fatalf("Put() = %+v, %v; want an EventId (even for unknown buses)", results, err)
			}
			id := results[0].EventID
			recorded, dropped := findEvent(b.Events(), id), findEvent(b.Dropped(), id)
			switch {
			case tt.wantBus == "" && (recorded != nil || dropped == nil || dropped.Bus != tt.bus):
				t.Fatalf("event for %q: recorded %v, dropped %+v; want dropped, naming the bus", tt.bus, recorded, dropped)
			case tt.wantBus != "" && (recorded == nil || recorded.Bus != tt.wantBus || dropped != nil):
				t.Fatalf("event for %q: recorded %+v; want it on %s", tt.bus, recorded, tt.wantBus)
			}
		})
	}
}

func findEvent(events []Event, id string) *Event {
	for i := range events {
		if events[i].ID == id {
			return &events[i]
		}
	}
	return nil
}

func TestEventsOf(t *testing.T) {
	b := newBus(t, Options{})
	for _, e := range []Entry{
		{Source: "ddconn", DetailType: "Connection Created", Detail: "{}"},
		{Source: "ddconn", DetailType: "Provisioning Failed", Detail: "{}"},
		{Source: "ddconn.requests", DetailType: "Connection Requested", Detail: "{}"},
	} {
		if _, err := b.Put(ctxT(t), e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		source, detailType string
		want               int
	}{
		{"", "", 3},
		{"ddconn", "", 2},
		{"ddconn", "Provisioning Failed", 1},
		{"", "Connection Requested", 1},
		{"other", "", 0},
	}
	for _, tt := range tests {
		if got := b.EventsOf(tt.source, tt.detailType); len(got) != tt.want {
			t.Errorf("EventsOf(%q, %q) = %d events, want %d", tt.source, tt.detailType, len(got), tt.want)
		}
	}
}

func TestEventsReturnsCopies(t *testing.T) {
	b := newBus(t, Options{})
	if _, err := b.Put(ctxT(t), withResource(validEntry(), "arn:a")); err != nil {
		t.Fatal(err)
	}
	got := b.Events()
	got[0].Resources[0] = "changed"
	got[0].Detail[0] = '['
	if again := b.Events(); again[0].Resources[0] != "arn:a" || again[0].Detail[0] != '{' {
		t.Fatalf("Events() exposed the recorded event: %+v", again[0])
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "account not 12 digits", opts: Options{Account: "1234"}},
		{name: "bus name with a slash", opts: Options{Buses: []string{"a/b"}}},
		{name: "empty bus name", opts: Options{Buses: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Fatal("New() succeeded, want an error")
			}
		})
	}
}
