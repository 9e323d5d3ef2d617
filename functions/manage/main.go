// Command manage is the Lambda function behind GET /connections, GET, PATCH and DELETE /connections/{name}
// and the rotation routes (PUT and DELETE /connections/{name}/rotation, POST /connections/{name}/rotate),
// and the managed-key routes (/connections/{name}/application-keys[/{key}], /connections/{name}/api-keys[/{key}]),
// an API Gateway HTTP API (payload v2) adapted to net/http.
//
// main only wires: configuration, logger, adapters, service, handler.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/httpapi"
)

func main() {
	a, err := app.New(context.Background(), os.Getenv, os.Stdout, app.HTTP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ddconn manage: starting:", err)
		os.Exit(1)
	}
	keys := a.ManagedKeys()
	svc := a.Connections(keys)
	apigateway.Start(httpapi.NewManageHandler(svc, httpapi.Options{
		Logger: a.Logger, RequestID: apigateway.RequestID, ManagedKeys: keys,
	}))
}
