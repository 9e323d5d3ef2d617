// Package apigateway runs a net/http handler as a Lambda function behind an
// API Gateway HTTP API (payload format 2.0), through aws-lambda-go-api-proxy's
// v2 adapter, and exposes API Gateway's request id to the handler.
package apigateway
