package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/testkit"
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
			reqs := &testkit.Recorder[events.EventBridgeEvent]{Err: tt.requestErr}
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
