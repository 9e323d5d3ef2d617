package awsconfig_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ddconn/ddconn/pkg/awsconfig"
)

// isolate keeps the machine's AWS settings (profiles, keys, regions) out of
// a test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, kv := range [][2]string{
		{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", ""}, {"AWS_PROFILE", ""},
		{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}, {"AWS_SESSION_TOKEN", ""},
		{"AWS_CONFIG_FILE", filepath.Join(dir, "config")},
		{"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials")},
	} {
		t.Setenv(kv[0], kv[1])
	}
}

func TestLoadRegion(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		option  string
		want    string
		wantErr bool
	}{
		{name: "none", wantErr: true},
		{name: "from AWS_REGION", env: "eu-west-1", want: "eu-west-1"},
		{name: "option wins over AWS_REGION", env: "eu-west-1", option: "us-east-2", want: "us-east-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_REGION", tt.env)
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: tt.option})
			if tt.wantErr {
				if !errors.Is(err, awsconfig.ErrNoRegion) || !strings.Contains(err.Error(), "AWS_REGION") {
					t.Fatalf("Load() error = %v, want ErrNoRegion naming AWS_REGION", err)
				}
				return
			}
			if err != nil || cfg.Region != tt.want {
				t.Fatalf("Load() = region %q, %v; want %q", cfg.Region, err, tt.want)
			}
		})
	}
}

func TestLoadStaticCredentials(t *testing.T) {
	isolate(t)
	// Real-looking keys in the environment must not leak into a client
	// asked for static credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	tests := []struct {
		name   string
		static bool
		want   string
	}{
		{name: "static", static: true, want: awsconfig.StaticKey},
		{name: "environment", static: false, want: "AKIDFROMENV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "us-east-1", StaticCredentials: tt.static})
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != tt.want {
				t.Fatalf("access key id = %q, want %q", creds.AccessKeyID, tt.want)
			}
		})
	}
}

func TestLoadRetryer(t *testing.T) {
	isolate(t)
	tests := []struct {
		name         string
		opts         awsconfig.Options
		wantAttempts int
		// maxDelay bounds every delay the retryer picks; 0 skips the check.
		maxDelay time.Duration
	}{
		{name: "SDK defaults", wantAttempts: 3},
		{name: "attempts and backoff", opts: awsconfig.Options{MaxAttempts: 7, MaxBackoff: time.Millisecond}, wantAttempts: 7, maxDelay: time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Region = "us-east-1"
			cfg, err := awsconfig.Load(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.Retryer()
			if r.MaxAttempts() != tt.wantAttempts {
				t.Fatalf("MaxAttempts() = %d, want %d", r.MaxAttempts(), tt.wantAttempts)
			}
			if tt.maxDelay == 0 {
				return
			}
			// Late attempts back off for up to 2^attempt seconds unless
			// MaxBackoff caps them.
			for attempt := 5; attempt < 25; attempt++ {
				d, err := r.RetryDelay(attempt, errors.New("server error"))
				if err != nil {
					t.Fatal(err)
				}
				if d > tt.maxDelay {
					t.Fatalf("RetryDelay(%d) = %v, want at most %v", attempt, d, tt.maxDelay)
				}
			}
		})
	}
}

func TestRetryerDefaultBackoffIsLonger(t *testing.T) {
	// Guards TestLoadRetryer: without MaxBackoff, late delays do exceed 1 ms,
	// so the bound there is the option's doing.
	isolate(t)
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retryer()
	for attempt := 5; attempt < 25; attempt++ {
		if d, _ := r.RetryDelay(attempt, errors.New("server error")); d > time.Millisecond {
			return
		}
	}
	t.Fatal("the default backoff never exceeded 1 ms")
}

func TestEachClientGetsItsOwnRetryer(t *testing.T) {
	isolate(t)
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	// A shared retryer would share one retry budget between adapters.
	if cfg.Retryer() == cfg.Retryer() {
		t.Fatal("Retryer() returned the same retryer twice")
	}
}

func TestMissingCredentialsFailTheCall(t *testing.T) {
	isolate(t)
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); !errors.Is(err, awsconfig.ErrNoCredentials) {
		t.Fatalf("Retrieve() error = %v, want ErrNoCredentials", err)
	}
}

func TestDefaultRegion(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil || cfg.Region != "ap-southeast-2" {
		t.Fatalf("Load() = %q, %v; want AWS_DEFAULT_REGION's", cfg.Region, err)
	}
}

// serviceEndpoints is the SDK's lookup of a service-specific endpoint.
type serviceEndpoints interface {
	GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
}

func TestEndpointOverrides(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantBase    string // cfg.BaseEndpoint ("" = unset)
		wantService string // what "Secrets Manager" resolves to ("" = not found)
	}{
		{name: "none"},
		{name: "service-specific", env: map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4566"},
			wantService: "http://127.0.0.1:4566"},
		{name: "another service's", env: map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4566"}},
		{name: "global", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, wantBase: "http://127.0.0.1:9"},
		{name: "ignored", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9",
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(cfg.BaseEndpoint); got != tt.wantBase {
				t.Fatalf("BaseEndpoint = %q, want %q", got, tt.wantBase)
			}
			if len(cfg.ConfigSources) != 1 {
				t.Fatalf("%d config sources, want the environment's", len(cfg.ConfigSources))
			}
			got, found, err := cfg.ConfigSources[0].(serviceEndpoints).GetServiceBaseEndpoint(context.Background(), "Secrets Manager")
			if err != nil || found != (tt.wantService != "") || got != tt.wantService {
				t.Fatalf("Secrets Manager endpoint = %q, %v, %v; want %q", got, found, err, tt.wantService)
			}
		})
	}
}
