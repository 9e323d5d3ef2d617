package awsconfig

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// StaticKey is the access key id and secret of StaticCredentials.
const StaticKey = "ddconn-test"

// ErrNoRegion means neither Options.Region nor AWS_REGION (or
// AWS_DEFAULT_REGION) named a region.
var ErrNoRegion = errors.New("no AWS region: set AWS_REGION or Options.Region")

// ErrNoCredentials means the environment holds no AWS credentials.
var ErrNoCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
	"(Lambda sets them from the function's role)")

// Options adjusts what Load resolves; the zero value takes everything from
// the environment.
type Options struct {
	// Region overrides AWS_REGION.
	Region string
	// StaticCredentials uses fixed dummy credentials (StaticKey) instead of
	// the environment's: for the local stand-ins, which accept any
	// signature.
	StaticCredentials bool
	// MaxAttempts is the standard retryer's attempts per call; 0 means the
	// SDK default (3).
	MaxAttempts int
	// MaxBackoff caps the standard retryer's delay between attempts; 0
	// means the SDK default (20 s). Tests shorten it.
	MaxBackoff time.Duration
	// Endpoint overrides the service endpoint of every client built from
	// the configuration (the local stand-ins); "" leaves it to the SDK and
	// the AWS_ENDPOINT_URL variables.
	Endpoint string
	// HTTPClient carries the requests; nil means the SDK's client.
	HTTPClient *http.Client
}

// Load resolves the AWS configuration once, from the environment as Lambda
// sets it. It fails with ErrNoRegion when no region resolves (every ddconn
// client is regional); missing credentials fail the first call with
// ErrNoCredentials.
func Load(_ context.Context, opts Options) (aws.Config, error) {
	return load(opts, os.Getenv)
}

func load(opts Options, getenv func(string) string) (aws.Config, error) {
	region := firstOf(opts.Region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		return aws.Config{}, ErrNoRegion
	}
	cfg := aws.Config{
		Region:        region,
		Credentials:   credentialsFrom(opts, getenv),
		Retryer:       func() aws.Retryer { return standardRetryer(opts) },
		ConfigSources: []any{endpoints(getenv)},
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" && !ignoreEndpoints(getenv) {
		cfg.BaseEndpoint = aws.String(u)
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(opts.Endpoint)
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	return cfg, nil
}

func credentialsFrom(opts Options, getenv func(string) string) aws.CredentialsProvider {
	if opts.StaticCredentials {
		return credentials.NewStaticCredentialsProvider(StaticKey, StaticKey, "")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, ErrNoCredentials
		})
	}
	return credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
}

// endpoints answers the service clients' lookup of a service-specific
// endpoint: AWS_ENDPOINT_URL_<SERVICE ID>, such as
// AWS_ENDPOINT_URL_SECRETS_MANAGER, as the SDK's own loader does.
type endpoints func(string) string

// GetServiceBaseEndpoint implements the SDK's ServiceBaseEndpointProvider.
func (getenv endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if ignoreEndpoints(getenv) {
		return "", false, nil
	}
	u := getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return u, u != "", nil
}

func ignoreEndpoints(getenv func(string) string) bool {
	return strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// standardRetryer is built once per service client (the SDK calls the
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
