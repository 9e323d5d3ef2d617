package scale

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// PageTarget is one page of a sweep, for a process of its own to sweep as
// the rotate function's invocation would.
type PageTarget struct {
	SecretsManagerURL string              `json:"secretsManagerUrl"`
	DatadogURL        string              `json:"datadogUrl"`
	Page              sweeper.PageRequest `json:"page"`
}

// PageResult is what sweeping a PageTarget in its own process measured.
type PageResult struct {
	Duration time.Duration
	PeakRSS  int64
	Report   sweeper.Report
}

// SweepPage sweeps t's page with the adapters and the sweeper the rotate
// function builds (pkg/app.Rotation's Datadog retries), then reads the
// process's peak RSS: run in a process of its own, it is one page
// invocation's footprint.
func SweepPage(ctx context.Context, t PageTarget) (PageResult, error) {
	store, err := secretstore.New(ctx, secretstore.Options{Endpoint: t.SecretsManagerURL, Region: "us-east-1", StaticCredentials: true})
	if err != nil {
		return PageResult{}, err
	}
	dd := app.Rotation.Datadog(t.DatadogURL)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	rot := rotation.New(store, dd, rotation.Options{Prefix: prefix, Now: time.Now, Logger: log})
	sw := sweeper.New(store, dd, rot, sweeper.Options{Prefix: prefix, Now: time.Now, Logger: log})
	start := time.Now()
	rep, err := sw.RunPage(ctx, t.Page)
	if err != nil {
		return PageResult{}, fmt.Errorf("sweeping the page: %w", err)
	}
	return PageResult{Duration: time.Since(start), PeakRSS: peakRSS(), Report: rep}, nil
}
