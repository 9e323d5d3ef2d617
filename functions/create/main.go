// Command create is the Lambda function behind POST /connections, an API
// Gateway HTTP API (payload v2) adapted to net/http, and the consumer of
// EventBridge provisioning requests (source ddconn.requests); handler.go
// dispatches by the event's shape.
//
// main only wires: configuration, logger, adapters, services, handler.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

func main() {
	a, err := app.New(context.Background(), os.Getenv, os.Stdout, app.HTTP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ddconn create: starting:", err)
		os.Exit(1)
	}
	cfg := a.Config
	events, err := eventbus.New(context.Background(), eventbus.Options{Bus: cfg.EventBus})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ddconn create: starting:", config.EnvEventBus+":", err)
		os.Exit(1)
	}
	svc := a.Connections(nil)
	keys := a.ManagedKeys()
	requests := provisioning.New(svc, keys, a.Secrets, provisioning.Options{
		Prefix: cfg.SecretPrefix, Publisher: events, Logger: a.Logger,
	})
	api := apigateway.Proxy(httpapi.NewCreateHandler(svc, httpapi.Options{Logger: a.Logger, RequestID: apigateway.RequestID}))
	lambda.Start(handler{api: api, requests: requests, log: a.Logger}.Handle)
}
