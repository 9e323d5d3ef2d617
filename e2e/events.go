package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/testkit"
)

// requestSeq makes each HTTP event's request id unique.
var requestSeq atomic.Int64

// HTTPEvent is the API Gateway HTTP API v2 event for one request, built from
// the IAM-authorised payload (testkit.HTTPAPIRequest): route is the matched
// route ("POST /connections/{name}/validate"), path the request path, body
// the JSON body (nil for none).
func HTTPEvent(route, path string, body []byte) ([]byte, error) {
	return HTTPEventAs("", route, path, body)
}

// HTTPEventAs is HTTPEvent from the IAM caller userARN ("" keeps the
// fixture's).
func HTTPEventAs(userARN, route, path string, body []byte) ([]byte, error) {
	method, pattern, ok := strings.Cut(route, " ")
	if !ok {
		return nil, fmt.Errorf("route %q: want \"METHOD /pattern\"", route)
	}
	params, err := pathParameters(pattern, path)
	if err != nil {
		return nil, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(testkit.Event(testkit.HTTPAPIRequest), &ev); err != nil {
		return nil, fmt.Errorf("decoding the HTTP event fixture: %w", err)
	}
	now := time.Now()
	ev.RouteKey, ev.RawPath, ev.RawQueryString = route, path, ""
	ev.Cookies, ev.QueryStringParameters, ev.StageVariables = nil, nil, nil
	ev.PathParameters = params
	ev.Headers = map[string]string{"accept": "application/json", "user-agent": "ddconn-e2e"}
	ev.Body, ev.IsBase64Encoded = string(body), false
	if body != nil {
		ev.Headers["content-type"] = "application/json"
		ev.Headers["content-length"] = fmt.Sprint(len(body))
	}
	rc := &ev.RequestContext
	if userARN != "" {
		rc.Authorizer.IAM.UserARN = userARN
	}
	rc.RouteKey = route
	rc.RequestID = fmt.Sprintf("e2e-%d", requestSeq.Add(1))
	rc.HTTP.Method, rc.HTTP.Path = method, path
	rc.Time, rc.TimeEpoch = now.UTC().Format("02/Jan/2006:15:04:05 -0700"), now.UnixMilli()
	return json.Marshal(ev)
}

// pathParameters matches path against an API Gateway pattern such as
// /connections/{name}/validate.
func pathParameters(pattern, path string) (map[string]string, error) {
	want, got := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return nil, fmt.Errorf("path %q does not match %q", path, pattern)
	}
	params := map[string]string{}
	for i, seg := range want {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			params[strings.TrimSuffix(name, "}")] = got[i]
		} else if seg != got[i] {
			return nil, fmt.Errorf("path %q does not match %q", path, pattern)
		}
	}
	if len(params) == 0 {
		return nil, nil
	}
	return params, nil
}

// HTTPResponse is a function's answer to an HTTP event.
type HTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// InvokeHTTP sends an HTTP event to a function and decodes its answer.
func InvokeHTTP(ctx context.Context, p *Process, route, path string, body []byte) (HTTPResponse, error) {
	return InvokeHTTPAs(ctx, p, "", route, path, body)
}

// InvokeHTTPAs is InvokeHTTP from the IAM caller userARN (HTTPEventAs).
func InvokeHTTPAs(ctx context.Context, p *Process, userARN, route, path string, body []byte) (HTTPResponse, error) {
	ev, err := HTTPEventAs(userARN, route, path, body)
	if err != nil {
		return HTTPResponse{}, err
	}
	raw, err := p.Invoke(ctx, ev)
	if err != nil {
		return HTTPResponse{}, fmt.Errorf("%s %s: %w", route, path, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return HTTPResponse{}, fmt.Errorf("%s %s: decoding the answer: %w", route, path, err)
	}
	if resp.IsBase64Encoded {
		return HTTPResponse{}, fmt.Errorf("%s %s: answer is base64-encoded; ddconn answers JSON", route, path)
	}
	return HTTPResponse{Status: resp.StatusCode, Headers: resp.Headers, Body: []byte(resp.Body)}, nil
}

// ScheduledEvent is EventBridge's "Scheduled Event", as the sweeper's
// schedule delivers it (testkit.ScheduledEvent), stamped with the current
// time.
func ScheduledEvent() ([]byte, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(testkit.Event(testkit.ScheduledEvent), &ev); err != nil {
		return nil, fmt.Errorf("decoding the scheduled event fixture: %w", err)
	}
	ev.Time = time.Now().UTC().Truncate(time.Second)
	return json.Marshal(ev)
}

// EventBridgeEvent is the envelope EventBridge hands a rule's Lambda
// target for an event put on the stack's bus, stamped with the current
// time: version "0", the given id, detail-type, source and detail (marshalled
// with encoding/json; a json.RawMessage is sent as it is), the stack's
// account and region, and no resources.
func EventBridgeEvent(id, source, detailType string, detail any) ([]byte, error) {
	raw, err := json.Marshal(detail)
	if err != nil {
		return nil, fmt.Errorf("encoding the detail of %q: %w", detailType, err)
	}
	return json.Marshal(events.EventBridgeEvent{
		Version:    "0",
		ID:         id,
		DetailType: detailType,
		Source:     source,
		AccountID:  AccountID,
		Time:       time.Now().UTC().Truncate(time.Second),
		Region:     Region,
		Resources:  []string{},
		Detail:     raw,
	})
}

// RotationEvent is the event Secrets Manager sends for one rotation step
// (testkit.RotationEvent, with the step, secret and token given).
func RotationEvent(step, secretID, token string) ([]byte, error) {
	var ev events.SecretsManagerSecretRotationEvent
	if err := json.Unmarshal(testkit.Event(testkit.RotationEvent), &ev); err != nil {
		return nil, fmt.Errorf("decoding the rotation event fixture: %w", err)
	}
	ev.Step, ev.SecretID, ev.ClientRequestToken = step, secretID, token
	return json.Marshal(ev)
}
