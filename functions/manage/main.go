// Command manage is the Lambda function behind GET /connections, GET, PATCH and DELETE /connections/{name}
// and the rotation routes (PUT and DELETE /connections/{name}/rotation, POST /connections/{name}/rotate),
// and the managed-key routes (/connections/{name}/application-keys[/{key}], /connections/{name}/api-keys[/{key}]),
// an API Gateway HTTP API (payload v2) adapted to net/http.
//
// main only wires: configuration, logger, adapters, service, handler.
package main

import (
	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/httpapi"
)

func main() {
	app.Main("manage", app.HTTP, func(a *app.App) error {
		keys := a.ManagedKeys()
		svc := a.Connections(keys)
		opts := a.HTTPOptions(a.Access())
		opts.ManagedKeys = keys
		apigateway.Start(httpapi.NewManageHandler(svc, opts))
		return nil
	})
}
