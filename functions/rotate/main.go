// Command rotate is the Lambda function that rotates connection secrets and
// sweeps orphaned application keys. Secrets Manager invokes it with rotation
// events (one per step); an EventBridge schedule invokes it with a
// "Scheduled Event" to start the sweeper, which it fans out as one "Sweep
// Page" event per page of secrets, each delivered back to it by an
// EventBridge rule (see handler.go).
//
// main only wires: configuration, logger, metrics, adapters, rotator,
// sweeper, handler.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

func main() {
	app.Main("rotate", app.Rotation, func(a *app.App) error {
		events, err := eventbus.New(context.Background(), eventbus.Options{Bus: a.Config.EventBus})
		if err != nil {
			return fmt.Errorf("%s: %w", config.EnvEventBus, err)
		}
		prefix := a.Config.SecretPrefix
		// Metrics go to stdout with the logs: CloudWatch extracts EMF records.
		mw := metrics.New(os.Stdout, time.Now)
		rot := rotation.New(a.Secrets, a.Datadog, rotation.Options{Prefix: prefix, Now: time.Now, Logger: a.Logger, Metrics: mw, Publisher: events})
		sw := sweeper.New(a.Secrets, a.Datadog, rot, sweeper.Options{Prefix: prefix, Now: time.Now, Logger: a.Logger, Metrics: mw})
		h := newHandler(rot, sw, a.Logger)
		if events != nil {
			// With a bus, the schedule's sweep goes out one event per page
			// of secrets, each swept by its own invocation (the rule in
			// template.yaml hands them back to this function).
			h = h.fanningOut(events)
		}
		lambda.Start(h.Handle)
		return nil
	})
}
