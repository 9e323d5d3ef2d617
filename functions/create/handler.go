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
)

// errUnknownEvent is returned for an event that is neither an HTTP API
// request nor an EventBridge event, so a misrouted trigger fails loudly.
var errUnknownEvent = errors.New("event is neither an HTTP API (payload v2) request nor an EventBridge event")

// apiHandler serves HTTP API requests (apigateway.Proxy).
type apiHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// requestHandler carries out EventBridge requests; *provisioning.Processor
// implements it.
type requestHandler interface {
	Handle(ctx context.Context, ev events.EventBridgeEvent) error
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
// and a detail-type.
type shape struct {
	Version    string `json:"version"`
	RouteKey   string `json:"routeKey"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// Handle answers an HTTP API request with its response, or carries out an
// EventBridge request and answers null. An EventBridge request's error
// makes Lambda retry the event (see provisioning.Processor.Handle).
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
	}
	h.log.ErrorContext(ctx, "unknown event", slog.String("source", s.Source), slog.String("detail_type", s.DetailType))
	return nil, errUnknownEvent
}
