package testkit

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestEventsDecode decodes every payload into the aws-lambda-go type of the
// event it stands for, and checks testdata/ holds no payload without a name.
func TestEventsDecode(t *testing.T) {
	tests := []struct {
		name  EventName
		into  any
		check func(any) bool
	}{
		{RotationEvent, &events.SecretsManagerSecretRotationEvent{}, func(v any) bool {
			ev := v.(*events.SecretsManagerSecretRotationEvent)
			return ev.Step == "createSecret" && ev.SecretID != "" && ev.ClientRequestToken != ""
		}},
		{ScheduledEvent, &events.EventBridgeEvent{}, func(v any) bool {
			ev := v.(*events.EventBridgeEvent)
			return ev.DetailType == "Scheduled Event" && ev.Source == "aws.events"
		}},
		{S3Event, &events.EventBridgeEvent{}, func(v any) bool { return v.(*events.EventBridgeEvent).Source == "aws.s3" }},
		{HTTPAPIRequest, &events.APIGatewayV2HTTPRequest{}, func(v any) bool {
			ev := v.(*events.APIGatewayV2HTTPRequest)
			return ev.Version == "2.0" && ev.RequestContext.Authorizer.IAM != nil
		}},
		{HTTPAPIRequestJWT, &events.APIGatewayV2HTTPRequest{}, func(v any) bool {
			ev := v.(*events.APIGatewayV2HTTPRequest)
			return ev.Version == "2.0" && ev.RequestContext.Authorizer.JWT != nil && ev.RequestContext.Authorizer.JWT.Claims != nil
		}},
		{ProvisioningEvent, &events.EventBridgeEvent{}, func(v any) bool {
			ev := v.(*events.EventBridgeEvent)
			return ev.Source == "ddconn.requests" && len(ev.Detail) > 0
		}},
	}
	var named []string
	for _, tt := range tests {
		named = append(named, "testdata/"+string(tt.name))
		t.Run(string(tt.name), func(t *testing.T) {
			if err := json.Unmarshal(Event(tt.name), tt.into); err != nil {
				t.Fatal(err)
			}
			if !tt.check(tt.into) {
				t.Errorf("decoded %+v, not the event it is named for", tt.into)
			}
		})
	}
	files, err := fs.Glob(payloads, "testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.Contains(named, f) {
			t.Errorf("%s has no EventName", f)
		}
	}
}

func TestEventIsACopy(t *testing.T) {
	a := Event(RotationEvent)
	a[0] = 'x'
	if Event(RotationEvent)[0] == 'x' {
		t.Error("Event returned the embedded bytes themselves")
	}
}
