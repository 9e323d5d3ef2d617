package app

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/config"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "defaults", env: map[string]string{}},
		{name: "bad configuration names the variable", env: map[string]string{config.EnvLogLevel: "loud"}, wantErr: config.EnvLogLevel},
	}
	t.Setenv("AWS_REGION", "us-east-1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			a, err := New(context.Background(), func(k string) string { return tt.env[k] }, &out, HTTP)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Config.SecretPrefix != config.DefaultSecretPrefix || a.Secrets == nil || a.Datadog == nil {
				t.Fatalf("incomplete App: %+v", a)
			}
			a.Logger.Info("hello")
			if !strings.Contains(out.String(), `"msg":"hello"`) {
				t.Fatalf("logger does not write JSON to out: %q", out.String())
			}
		})
	}
}

func TestNewNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	_, err := New(context.Background(), func(string) string { return "" }, &bytes.Buffer{}, HTTP)
	if err == nil || !strings.Contains(err.Error(), "secrets manager") {
		t.Fatalf("New() error = %v, want the Secrets Manager client's", err)
	}
}

func TestRunStartsTheFunctionOnItsApp(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	startErr := errors.New("wiring failed")
	tests := []struct {
		name        string
		env         map[string]string
		startErr    error
		wantStarted bool
		wantErr     string
	}{
		{name: "started", env: map[string]string{config.EnvSecretPrefix: "team/"}, wantStarted: true},
		{name: "start fails", env: map[string]string{}, startErr: startErr, wantStarted: true, wantErr: startErr.Error()},
		{name: "bad configuration is never started", env: map[string]string{config.EnvLogLevel: "loud"}, wantErr: config.EnvLogLevel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var started *App
			err := run(HTTP, func(k string) string { return tt.env[k] }, &bytes.Buffer{}, func(a *App) error {
				started = a
				return tt.startErr
			})
			if (started != nil) != tt.wantStarted {
				t.Fatalf("start called = %v, want %v", started != nil, tt.wantStarted)
			}
			if started != nil && started.Config.SecretPrefix != cmp.Or(tt.env[config.EnvSecretPrefix], config.DefaultSecretPrefix) {
				t.Errorf("start got the prefix %q, not the environment's", started.Config.SecretPrefix)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("run() error = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
