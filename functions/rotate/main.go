// Command rotate is the Lambda function that rotates connection secrets and
// sweeps orphaned application keys. Secrets Manager invokes it with rotation
// events (one per step); an EventBridge schedule invokes it with a
// "Scheduled Event" to run the sweeper (see handler.go).
//
// main only wires: configuration, logger, metrics, adapters, rotator,
// sweeper, handler.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ddconn rotate: configuration:", err)
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
		HTTPClient: &http.Client{Timeout: 15 * time.Second},
		// A step is retried whole by Secrets Manager, so the client's own
		// retry only smooths over short blips.
		Retry: datadog.Retry{Enabled: true, MaxRetries: 2, Timeout: 20 * time.Second},
	})
	// Metrics go to stdout with the logs: CloudWatch extracts EMF records.
	mw := metrics.New(os.Stdout, time.Now)
	rot := rotation.New(store, dd, rotation.Options{Prefix: cfg.SecretPrefix, Now: time.Now, Logger: logger, Metrics: mw})
	sw := sweeper.New(store, dd, rot, sweeper.Options{Prefix: cfg.SecretPrefix, Now: time.Now, Logger: logger, Metrics: mw})
	lambda.Start(newHandler(rot, sw, logger).Handle)
}
