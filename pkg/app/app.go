package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/apigateway"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/kmsgrant"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Budget bounds a function's Datadog calls: each HTTP request, and the
// client's own retries of 429 and 5xx answers.
type Budget struct {
	// RequestTimeout bounds one HTTP request to Datadog.
	RequestTimeout time.Duration
	// RetryWindow is how long the client may keep retrying one call.
	RetryWindow time.Duration
}

// Datadog is the Datadog client within the budget: each request bounded
// by RequestTimeout, 429 and 5xx answers retried twice within
// RetryWindow. baseURL is "" on AWS (the simulator's URL in dev and tests).
func (b Budget) Datadog(baseURL string) *datadog.Client {
	return datadog.New(datadog.Options{
		BaseURL:    baseURL,
		HTTPClient: &http.Client{Timeout: b.RequestTimeout},
		Retry:      b.DatadogRetry(),
	})
}

// DatadogRetry is the Datadog client's retry policy within the budget.
func (b Budget) DatadogRetry() datadog.Retry {
	return datadog.Retry{Enabled: true, MaxRetries: 2, Timeout: b.RetryWindow}
}

// HTTP is the budget of the API functions: a Datadog outage answers 502
// well before API Gateway's 30 s integration timeout.
var HTTP = Budget{RequestTimeout: 8 * time.Second, RetryWindow: 10 * time.Second}

// Rotation is the budget of the rotate function: Secrets Manager retries a
// failed step whole, so the client's retries only smooth over short blips.
var Rotation = Budget{RequestTimeout: 15 * time.Second, RetryWindow: 20 * time.Second}

// App is a function's configured dependencies.
type App struct {
	// Config is the configuration read from the environment.
	Config config.Config
	// Logger writes JSON records with request ids.
	Logger *slog.Logger
	// Secrets is the Secrets Manager adapter.
	Secrets *secretstore.Store
	// Datadog is the Datadog API adapter.
	Datadog *datadog.Client
	// Grants is the KMS adapter for managed keys' readers' grants.
	Grants *kmsgrant.Grants
}

// Main starts the function called name; it is what functions/*/main.go
// call. It builds the App from the process's environment, logging to
// stdout, and hands it to start, which wires the function's services and
// starts its handler (lambda.Start does not return). If either fails, Main
// writes the error to stderr and ends the process with status 1: the
// function fails its init, and Lambda reports why.
func Main(name string, budget Budget, start func(*App) error) {
	if err := run(budget, os.Getenv, os.Stdout, start); err != nil {
		fmt.Fprintln(os.Stderr, "ddconn "+name+": starting:", err)
		os.Exit(1)
	}
}

// run builds the App and calls start with it.
func run(budget Budget, getenv func(string) string, out io.Writer, start func(*App) error) error {
	a, err := New(context.Background(), getenv, out, budget)
	if err != nil {
		return err
	}
	return start(a)
}

// New reads the configuration through getenv, logs to out, and builds the
// adapters within budget. Its error says which setting to fix.
func New(ctx context.Context, getenv func(string) string, out io.Writer, budget Budget) (*App, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	store, err := secretstore.New(ctx, secretstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("secrets manager client: %w", err)
	}
	grants, err := kmsgrant.New(ctx, kmsgrant.Options{})
	if err != nil {
		return nil, fmt.Errorf("kms client: %w", err)
	}
	return &App{Config: cfg, Logger: logging.New(out, cfg.LogLevel), Secrets: store, Datadog: budget.Datadog(cfg.DatadogBaseURL),
		Grants: grants}, nil
}

// Connections is the connection service on the app's adapters and
// configuration. deps, when not nil, makes Delete refuse a connection that
// still has managed keys.
func (a *App) Connections(deps connection.Dependents) *connection.Service {
	return connection.New(a.Secrets, a.Datadog, connection.Options{
		Prefix: a.Config.SecretPrefix, KMSKeyID: a.Config.KMSKeyID, RotationFunctionARN: a.Config.RotationFunctionARN,
		MinRotateInterval: a.Config.MinRotateInterval,
		Now:               time.Now, Logger: a.Logger, Dependents: deps,
	})
}

// HTTPOptions are the options of the API handlers on Lambda: request ids
// and identities from API Gateway's request context, the access policy
// (a.Access()), and the refusal metric.
func (a *App) HTTPOptions(policy access.Source) httpapi.Options {
	return httpapi.Options{
		Logger: a.Logger, RequestID: apigateway.RequestID,
		Identify: apigateway.Identifier(a.Config.GroupsClaim), Policy: policy,
		Metrics: metrics.New(os.Stdout, time.Now),
	}
}

// Access is the access policy source: the secret AccessPolicySecret, read
// at most every access.DefaultRefresh; nil, with a warning, when none is
// configured.
func (a *App) Access() access.Source {
	if a.Config.AccessPolicySecret == "" {
		a.Logger.Warn("no access policy is configured (" + config.EnvAccessPolicySecret + "): every caller is an administrator")
		return nil
	}
	id := a.Config.AccessPolicySecret
	return &access.Cached{Read: func(ctx context.Context) ([]byte, error) {
		v, err := a.Secrets.Get(ctx, id, "", secretstore.Current)
		if err != nil {
			return nil, err
		}
		return []byte(v.Value), nil
	}}
}

// ManagedKeys is the managed-key service on the app's adapters and
// configuration.
func (a *App) ManagedKeys() *managedkey.Service {
	return managedkey.New(a.Secrets, a.Datadog, managedkey.Options{
		Prefix: a.Config.SecretPrefix, KMSKeyID: a.Config.KMSKeyID, Grants: a.Grants,
		RotationFunctionARN: a.Config.RotationFunctionARN, Logger: a.Logger, Now: time.Now,
	})
}
