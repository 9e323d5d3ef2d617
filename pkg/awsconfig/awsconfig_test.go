package awsconfig_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		{name: "SDK chain", static: false, want: "AKIDFROMENV"},
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
