package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

// errUnknownEvent is returned for an event that is neither an HTTP API
// request nor an EventBridge event, so a misrouted trigger fails loudly.
var errUnknownEvent = errors.New("event is neither an HTTP API (payload v2) request, an EventBridge event nor a team bus's delivery")

// apiHandler serves HTTP API requests (apigateway.Proxy).
type apiHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// requestHandler carries out EventBridge requests, from the stack's bus or
// delivered by a team bus's rule; *provisioning.Processor implements it.
type requestHandler interface {
	Handle(ctx context.Context, ev events.EventBridgeEvent) error
	HandleBusDelivery(ctx context.Context, home provisioning.Home, d provisioning.BusDelivery) error
}

// handler dispatches an invocation by the shape of its event: one
// function, two triggers.
type handler struct {
	api      apiHandler
	requests requestHandler
	log      *slog.Logger
}

// shape holds the fields that tell the events apart: an HTTP API payload
// v2 has version "2.0" and a routeKey; an EventBridge event has a source
// and a detail-type; a team bus's delivery (provisioning.TeamBusInputTemplate)
// has a ruleArn and an event.
type shape struct {
	Version    string          `json:"version"`
	RouteKey   string          `json:"routeKey"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	RuleARN    string          `json:"ruleArn"`
	Event      json.RawMessage `json:"event"`
}

// Handle answers an HTTP API request with its response, or carries out an
// EventBridge request and answers null. An EventBridge request's error
// makes Lambda retry the event (see provisioning.Processor.Handle). A team
// bus's delivery is checked against the function's own account and region,
// read from its ARN.
func (h handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var s shape
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decoding the event: %w", err)
	}
	switch {
	case s.Version == "2.0" && s.RouteKey != "":
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("decoding the HTTP API request: %w", err)
		}
		return h.api(ctx, req)
	case s.Source != "" && s.DetailType != "":
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			ctx = logging.WithRequestID(ctx, lc.AwsRequestID)
		}
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding the EventBridge event: %w", err)
		}
		return nil, h.requests.Handle(ctx, ev)
	case s.RuleARN != "" && len(s.Event) > 0:
		var home provisioning.Home
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			ctx = logging.WithRequestID(ctx, lc.AwsRequestID)
			home, _ = provisioning.HomeOf(lc.InvokedFunctionArn)
		}
		var d provisioning.BusDelivery
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decoding the team bus's delivery: %w", err)
		}
		return nil, h.requests.HandleBusDelivery(ctx, home, d)
	}
	h.log.ErrorContext(ctx, "unknown event", slog.String("source", s.Source), slog.String("detail_type", s.DetailType))
	return nil, errUnknownEvent
}
