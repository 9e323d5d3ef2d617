package provisioning

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// fixture reads a request event from testdata.
func fixture(t *testing.T, name string) events.EventBridgeEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, d any)
	}{
		{"create_connection.json", func(t *testing.T, d any) {
			c := d.(*CreateConnectionDetail)
			if c.Name != "prod-us1" || !c.DeleteSourceSecret || !strings.Contains(c.CredentialsSecretARN, ":secret:ddconn/connections/staging/") {
				t.Errorf("decoded %+v", c)
			}
		}},
		{"provision_application_key.json", func(t *testing.T, d any) {
			c := d.(*ProvisionApplicationKeyDetail)
			if c.Connection != "prod-us1" || c.Name != "checkout" || len(c.Scopes) != 1 || !c.IncludeAPIKey || c.Rotation.RevokePrevious != "next-rotation" {
				t.Errorf("decoded %+v", c)
			}
		}},
		{"provision_api_key.json", func(t *testing.T, d any) {
			c := d.(*ProvisionAPIKeyDetail)
			if c.Connection != "prod-us1" || c.Name != "agent-us1" || c.Rotation.Schedule != "rate(90 days)" {
				t.Errorf("decoded %+v", c)
			}
		}},
		{"delete_managed_key.json", func(t *testing.T, d any) {
			c := d.(*DeleteManagedKeyDetail)
			if c.Connection != "prod-us1" || c.Kind != KindApplicationKey || c.Name != "checkout" || c.KeepKeys {
				t.Errorf("decoded %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := fixture(t, tt.file)
			req, err := parse(ev)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if req.id != ev.ID || req.detailType != ev.DetailType {
				t.Fatalf("request %q %q, want the event's", req.id, req.detailType)
			}
			tt.check(t, req.detail)
		})
	}
}

func TestParseRefuses(t *testing.T) {
	const apiKeyLike = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name      string
		edit      func(ev *events.EventBridgeEvent)
		wantField string
		notInMsg  string
	}{
		{name: "other source", edit: func(ev *events.EventBridgeEvent) { ev.Source = "ddconn" }, wantField: "source"},
		{name: "unknown detail type", edit: func(ev *events.EventBridgeEvent) { ev.DetailType = "Scheduled Event" }, wantField: "detail-type"},
		{name: "no id", edit: func(ev *events.EventBridgeEvent) { ev.ID = "" }, wantField: "id"},
		{name: "id with spaces", edit: func(ev *events.EventBridgeEvent) { ev.ID = "a b" }, wantField: "id"},
		{name: "id too long", edit: func(ev *events.EventBridgeEvent) { ev.ID = strings.Repeat("a", maxEventIDLength+1) }, wantField: "id"},
		{name: "detail missing", edit: func(ev *events.EventBridgeEvent) { ev.Detail = nil }, wantField: "detail"},
		{name: "detail an array", edit: func(ev *events.EventBridgeEvent) { ev.Detail = json.RawMessage(`[]`) }, wantField: "detail"},
		{name: "trailing data", edit: func(ev *events.EventBridgeEvent) { ev.Detail = json.RawMessage(`{"name":"a"} {}`) }, wantField: "detail"},
		{name: "wrong type", edit: func(ev *events.EventBridgeEvent) { ev.Detail = json.RawMessage(`{"deleteSourceSecret":"yes"}`) }, wantField: "detail.deleteSourceSecret"},
		{name: "unknown field", edit: func(ev *events.EventBridgeEvent) { ev.Detail = json.RawMessage(`{"apiKey":"x"}`) }, wantField: "detail.apiKey"},
		{name: "key pasted as a field name is not repeated",
			edit:      func(ev *events.EventBridgeEvent) { ev.Detail = json.RawMessage(`{"` + apiKeyLike + `":1}`) },
			wantField: "detail", notInMsg: apiKeyLike},
		{name: "bad JSON is not quoted",
			edit:      func(ev *events.EventBridgeEvent) { ev.Detail = json.RawMessage(`{"name":` + apiKeyLike + `}`) },
			wantField: "detail", notInMsg: apiKeyLike[:8]},
		{name: "oversize", edit: func(ev *events.EventBridgeEvent) {
			ev.Detail = json.RawMessage(`{"description":"` + strings.Repeat("x", maxDetailBytes) + `"}`)
		}, wantField: "detail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := fixture(t, "create_connection.json")
			tt.edit(&ev)
			_, err := parse(ev)
			var f *failure
			if !errors.As(err, &f) || f.reason != ReasonInvalidEvent {
				t.Fatalf("parse error = %v, want an invalid-event failure", err)
			}
			fields := ""
			for _, d := range f.details {
				fields += d.Field + " "
				if tt.notInMsg != "" && strings.Contains(d.Field+d.Message, tt.notInMsg) {
					t.Errorf("the problem repeats the input: %+v", d)
				}
			}
			if !strings.Contains(" "+fields, " "+tt.wantField+" ") {
				t.Fatalf("problems name %q, want %q", fields, tt.wantField)
			}
		})
	}
}
