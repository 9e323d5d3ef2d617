package apigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/logging"
)

// TestRequestIDReachesLogsAndErrors sends an HTTP API (payload v2) event
// through the adapter Start uses, to each function's handler as its main.go
// wires it. The request is refused before the service is called (415), so no
// service is needed.
func TestRequestIDReachesLogsAndErrors(t *testing.T) {
	tests := []struct {
		function     string
		handler      func(httpapi.Options) http.Handler
		method, path string
	}{
		{"create", func(o httpapi.Options) http.Handler { return httpapi.NewCreateHandler(nil, o) }, "POST", "/connections"},
		{"validate", func(o httpapi.Options) http.Handler { return httpapi.NewValidateHandler(nil, o) }, "POST", "/connections/validate"},
		{"manage", func(o httpapi.Options) http.Handler { return httpapi.NewManageHandler(nil, o) }, "PATCH", "/connections/demo"},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			var logs bytes.Buffer
			h := tt.handler(httpapi.Options{Logger: logging.New(&logs, slog.LevelInfo), RequestID: RequestID})
			event := events.APIGatewayV2HTTPRequest{
				Version: "2.0", RawPath: tt.path, Body: "name=x",
				Headers: map[string]string{"content-type": "text/plain"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RequestID: "apigw-req-7", DomainName: "api.example.com",
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: tt.method, Path: tt.path},
				},
			}
			resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), event)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error     struct{ Code string } `json:"error"`
				RequestID string                `json:"requestId"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("%d %s: %v", resp.StatusCode, resp.Body, err)
			}
			if resp.StatusCode != 415 || body.Error.Code != httpapi.CodeUnsupportedMediaType || body.RequestID != "apigw-req-7" {
				t.Fatalf("response %d %s, want 415 with API Gateway's request id", resp.StatusCode, resp.Body)
			}
			if !strings.Contains(logs.String(), `"request_id":"apigw-req-7"`) {
				t.Fatalf("logs lack the request id: %s", logs.String())
			}
		})
	}
}
