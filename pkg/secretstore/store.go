package secretstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Staging labels of Secrets Manager versions.
const (
	Current  = "AWSCURRENT"
	Previous = "AWSPREVIOUS"
	Pending  = "AWSPENDING"
)

// Options configures a Store.
type Options struct {
	// Endpoint overrides the service endpoint (the emulator in dev and
	// tests); "" lets the SDK resolve it, which honours
	// AWS_ENDPOINT_URL_SECRETS_MANAGER.
	Endpoint string
	// Region overrides the SDK's region resolution (AWS_REGION, profile).
	Region string
	// StaticCredentials uses fixed dummy credentials instead of the SDK's
	// credential chain: for emulators, which accept any signature.
	StaticCredentials bool
	// MaxAttempts is the standard retryer's attempts per call; 0 means the
	// SDK default (3).
	MaxAttempts int
	// MaxBackoff caps the standard retryer's delay between attempts; 0
	// means the SDK default (20 s). Tests shorten it.
	MaxBackoff time.Duration
	// HTTPClient carries the requests; nil means the SDK's client.
	HTTPClient *http.Client
}

// Store reads and writes connection secrets. It is safe for concurrent use.
type Store struct {
	sm *secretsmanager.Client
}

// New loads the AWS configuration once and builds the Secrets Manager client.
func New(ctx context.Context, opts Options) (*Store, error) {
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return standardRetryer(opts) }),
	}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.StaticCredentials {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider("ddconn-test", "ddconn-test", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("secretstore: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("secretstore: no AWS region: set AWS_REGION or Options.Region")
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		// Set on the client, not through the shared config: the config
		// loader would try to add AWS_CA_BUNDLE to a client it cannot
		// modify and fail.
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
	})
	return &Store{sm: sm}, nil
}

func standardRetryer(opts Options) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		if opts.MaxAttempts > 0 {
			o.MaxAttempts = opts.MaxAttempts
		}
		if opts.MaxBackoff > 0 {
			o.MaxBackoff = opts.MaxBackoff
		}
	})
}
