package apigateway

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/ddconn/ddconn/internal/testkit"
)

// TestRequestIDFromRealEvent feeds aws-lambda-go's own IAM-authorised HTTP API
// sample event through the adapter and checks the handler sees its request id.
func TestRequestIDFromRealEvent(t *testing.T) {
	raw := testkit.Event(testkit.HTTPAPIRequest)
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var got string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = RequestID(r)
		w.WriteHeader(http.StatusNoContent)
	})
	resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got == "" || got != ev.RequestContext.RequestID {
		t.Fatalf("RequestID = %q, want %q", got, ev.RequestContext.RequestID)
	}
	if RequestID(&http.Request{}) != "" {
		t.Fatal("a request outside Lambda has a request id")
	}
}
