package secretstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ddconn/ddconn/pkg/awsconfig"
)

// Staging labels of Secrets Manager versions.
const (
	Current  = "AWSCURRENT"
	Previous = "AWSPREVIOUS"
	Pending  = "AWSPENDING"
)

// Options configures a Store: the AWS configuration its client is built
// from. Endpoint "" lets the SDK resolve the endpoint, which honours
// AWS_ENDPOINT_URL_SECRETS_MANAGER.
type Options = awsconfig.Options

// Store reads and writes connection secrets. It is safe for concurrent use.
type Store struct {
	sm *secretsmanager.Client
}

// New loads the AWS configuration once and builds the Secrets Manager client.
func New(ctx context.Context, opts Options) (*Store, error) {
	cfg, err := awsconfig.Load(ctx, awsconfig.Options(opts))
	if err != nil {
		return nil, fmt.Errorf("secretstore: %w", err)
	}
	return &Store{sm: secretsmanager.NewFromConfig(cfg)}, nil
}
