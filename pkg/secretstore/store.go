package secretstore

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ddconn/ddconn/pkg/awsconfig"
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
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{
		Region:            opts.Region,
		StaticCredentials: opts.StaticCredentials,
		MaxAttempts:       opts.MaxAttempts,
		MaxBackoff:        opts.MaxBackoff,
	})
	if err != nil {
		return nil, fmt.Errorf("secretstore: %w", err)
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
