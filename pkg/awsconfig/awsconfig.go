package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// StaticKey is the access key id and secret of StaticCredentials.
const StaticKey = "ddconn-test"

// ErrNoRegion means neither Options.Region nor the SDK's resolution (AWS_REGION,
// AWS_DEFAULT_REGION, the shared config) named a region.
var ErrNoRegion = errors.New("no AWS region: set AWS_REGION or Options.Region")

// Options adjusts what Load resolves; the zero value takes everything from
// the SDK's defaults and the environment.
type Options struct {
	// Region overrides the SDK's region resolution (AWS_REGION, profile).
	Region string
	// StaticCredentials uses fixed dummy credentials (StaticKey) instead of
	// the SDK's credential chain: for the local stand-ins, which accept any
	// signature.
	StaticCredentials bool
	// MaxAttempts is the standard retryer's attempts per call; 0 means the
	// SDK default (3).
	MaxAttempts int
	// MaxBackoff caps the standard retryer's delay between attempts; 0
	// means the SDK default (20 s). Tests shorten it.
	MaxBackoff time.Duration
}

// Load resolves the AWS configuration once. It fails with ErrNoRegion when
// no region resolves: every ddconn client is regional.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return standardRetryer(opts) }),
	}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.StaticCredentials {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(StaticKey, StaticKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	return cfg, nil
}

// standardRetryer is built once per service client (the loader calls the
// provider for each), so clients do not share a retry budget.
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
