package apigateway

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Start serves h as the Lambda function's handler; it never returns.
func Start(h http.Handler) {
	lambda.Start(Proxy(h))
}

// Proxy adapts h to an HTTP API (payload v2) event handler, for functions
// that take other events too and dispatch by shape.
func Proxy(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(h).ProxyWithContext
}

// RequestID returns API Gateway's id of the request being served, so logs and
// error envelopes quote the id API Gateway's access log has too; "" outside
// Lambda.
func RequestID(r *http.Request) string {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok {
		return ""
	}
	return rc.RequestID
}
