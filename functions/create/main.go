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

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

func main() {
	app.Main("create", app.HTTP, func(a *app.App) error {
		events, err := eventbus.New(context.Background(), eventbus.Options{Bus: a.Config.EventBus})
		if err != nil {
			return fmt.Errorf("%s: %w", config.EnvEventBus, err)
		}
		svc := a.Connections(nil)
		keys := a.ManagedKeys()
		policy := a.Access()
		requests := provisioning.New(svc, keys, a.Secrets, provisioning.Options{
			Prefix: a.Config.SecretPrefix, Publisher: events, Logger: a.Logger, Policy: policy,
		})
		api := apigateway.Proxy(httpapi.NewCreateHandler(svc, a.HTTPOptions(policy)))
		lambda.Start(handler{api: api, requests: requests, log: a.Logger}.Handle)
		return nil
	})
}
