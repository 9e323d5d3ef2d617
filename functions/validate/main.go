// Command validate is the Lambda function behind POST /connections/validate, POST /connections/{name}/validate and GET /connections/{name}/service-accounts,
// an API Gateway HTTP API (payload v2) adapted to net/http.
//
// main only wires: configuration, logger, adapters, service, handler.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ddconn validate: configuration:", err)
		os.Exit(1)
	}
	logger := logging.New(os.Stdout, cfg.LogLevel)
	store, err := secretstore.New(context.Background(), secretstore.Options{})
	if err != nil {
		logger.Error("starting: secrets manager client", "err", err)
		os.Exit(1)
	}
	dd := datadog.New(datadog.Options{
		BaseURL:    cfg.DatadogBaseURL,
		HTTPClient: &http.Client{Timeout: 8 * time.Second},
		// Bounded so a Datadog outage answers 502 well before API
		// Gateway's 30 s integration timeout.
		Retry: datadog.Retry{Enabled: true, MaxRetries: 2, Timeout: 10 * time.Second},
	})
	svc := connection.New(store, dd, connection.Options{Prefix: cfg.SecretPrefix, KMSKeyID: cfg.KMSKeyID, Now: time.Now, Logger: logger})
	h := httpapi.NewValidateHandler(svc, httpapi.Options{Logger: logger, RequestID: apigateway.RequestID})
	apigateway.Start(h)
}
