package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

func TestDispatchByEventShape(t *testing.T) {
	retry := errors.New("retry me")
	tests := []struct {
		name         string
		fixture      testkit.EventName
		requestErr   error
		wantAPI      int
		wantRequests int
		wantErr      error
	}{
		{name: "HTTP API request", fixture: testkit.HTTPAPIRequest, wantAPI: 1},
		{name: "provisioning event", fixture: testkit.ProvisioningEvent, wantRequests: 1},
		{name: "provisioning event to retry", fixture: testkit.ProvisioningEvent, requestErr: retry, wantRequests: 1, wantErr: retry},
		{name: "a rotation event is misrouted", fixture: testkit.RotationEvent, wantErr: errUnknownEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := testkit.Event(tt.fixture)
			var apiCalls int
			api := func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				apiCalls++
				if req.RawPath == "" {
					t.Error("the HTTP request reached the API without its path")
				}
				return events.APIGatewayV2HTTPResponse{StatusCode: 201}, nil
			}
			reqs := &requests{Recorder: testkit.Recorder[events.EventBridgeEvent]{Err: tt.requestErr}}
			h := handler{api: api, requests: reqs, log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
			out, err := h.Handle(context.Background(), raw)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Handle error = %v, want %v", err, tt.wantErr)
			}
			if apiCalls != tt.wantAPI || len(reqs.Events) != tt.wantRequests {
				t.Fatalf("API called %d times, requests %d; want %d and %d", apiCalls, len(reqs.Events), tt.wantAPI, tt.wantRequests)
			}
			if tt.wantAPI == 1 && out.(events.APIGatewayV2HTTPResponse).StatusCode != 201 {
				t.Fatalf("response %+v is not the API's", out)
			}
			if tt.wantRequests == 1 && (reqs.Events[0].ID == "" || len(reqs.Events[0].Detail) == 0) {
				t.Fatalf("the event reached the processor without id or detail: %+v", reqs.Events[0])
			}
		})
	}
}

// requests records the events and the team buses' deliveries handed to the
// processor.
type requests struct {
	testkit.Recorder[events.EventBridgeEvent]
	deliveries []provisioning.BusDelivery
	homes      []provisioning.Home
}

func (r *requests) HandleBusDelivery(_ context.Context, home provisioning.Home, d provisioning.BusDelivery) error {
	r.deliveries, r.homes = append(r.deliveries, d), append(r.homes, home)
	return r.Err
}

// TestDispatchTeamBusDelivery hands the function what a team bus's rule
// renders with provisioning.TeamBusInputTemplate (through the EventBridge
// stand-in's InputTransformer): it reaches the processor as a delivery,
// with the event and the function's own account and region.
func TestDispatchTeamBusDelivery(t *testing.T) {
	bus, err := busemu.New(busemu.Options{Account: "111111111111", Buses: []string{"team-a-requests"}, RetryDelays: []time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	var rendered []byte
	if err := bus.AddRule(busemu.Rule{Name: "ddconn-provisioning", Bus: "team-a-requests",
		InputTransformer: &busemu.InputTransformer{InputTemplate: provisioning.TeamBusInputTemplate},
		Target:           busemu.TargetFunc(func(_ context.Context, p []byte) error { rendered = p; return nil })}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := bus.InjectOn(ctx, "team-a-requests", testkit.Event(testkit.ProvisioningEvent)); err != nil {
		t.Fatal(err)
	}
	if err := bus.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := &requests{}
	h := handler{requests: reqs, log: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
	lc := &lambdacontext.LambdaContext{AwsRequestID: "r-1", InvokedFunctionArn: "arn:aws:lambda:us-east-1:111111111111:function:ddconn-create"}
	if _, err := h.Handle(lambdacontext.NewContext(ctx, lc), rendered); err != nil {
		t.Fatal(err)
	}
	if len(reqs.deliveries) != 1 || len(reqs.Events) != 0 {
		t.Fatalf("deliveries %d, events %d; want one delivery", len(reqs.deliveries), len(reqs.Events))
	}
	d := reqs.deliveries[0]
	if d.RuleARN != "arn:aws:events:us-east-1:111111111111:rule/team-a-requests/ddconn-provisioning" || d.Event.ID == "" || len(d.Event.Detail) == 0 {
		t.Errorf("delivery %+v", d)
	}
	if want := (provisioning.Home{Partition: "aws", Region: "us-east-1", Account: "111111111111"}); reqs.homes[0] != want {
		t.Errorf("home %+v, want %+v", reqs.homes[0], want)
	}
}
