// Command manage is the Lambda function behind GET /connections, GET, PATCH and DELETE /connections/{name}
// and the rotation routes (PUT and DELETE /connections/{name}/rotation, POST /connections/{name}/rotate),
// the managed-key routes (/connections/{name}/application-keys[/{key}], /connections/{name}/api-keys[/{key}]),
// and the rollback routes (…/rotation/rollback of a connection or a managed key),
// an API Gateway HTTP API (payload v2) adapted to net/http.
//
// main only wires: configuration, logger, adapters, service, handler.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/rotation"
)

func main() {
	app.Main("manage", app.HTTP, func(a *app.App) error {
		events, err := eventbus.New(context.Background(), eventbus.Options{Bus: a.Config.EventBus})
		if err != nil {
			return fmt.Errorf("%s: %w", config.EnvEventBus, err)
		}
		keys := a.ManagedKeys()
		svc := a.Connections(keys)
		opts := a.HTTPOptions(a.Access())
		opts.ManagedKeys = keys
		// Rollbacks move staging labels and publish Rotation Rolled Back.
		opts.Rollback = rotation.New(a.Secrets, a.Datadog, rotation.Options{Prefix: a.Config.SecretPrefix, Now: time.Now,
			Logger: a.Logger, Publisher: events})
		apigateway.Start(httpapi.NewManageHandler(svc, opts))
		return nil
	})
}
