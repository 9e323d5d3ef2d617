// Command validate is the Lambda function behind POST /connections/validate, POST /connections/{name}/validate and GET /connections/{name}/service-accounts,
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
	app.Main("validate", app.HTTP, func(a *app.App) error {
		svc := a.Connections(nil)
		apigateway.Start(httpapi.NewValidateHandler(svc, a.HTTPOptions(a.Access())))
		return nil
	})
}
