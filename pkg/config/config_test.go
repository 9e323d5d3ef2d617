package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "defaults", env: nil, want: Config{SecretPrefix: DefaultSecretPrefix}},
		{
			name: "everything",
			env: map[string]string{
				EnvSecretPrefix: "team/dd/", EnvKMSKeyID: " alias/ddconn ", EnvDatadogBaseURL: "http://127.0.0.1:4580/",
				EnvRotationFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:rotate", EnvLogLevel: "debug",
			},
			want: Config{SecretPrefix: "team/dd/", KMSKeyID: "alias/ddconn", DatadogBaseURL: "http://127.0.0.1:4580",
				RotationFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:rotate", LogLevel: slog.LevelDebug},
		},
		{name: "bad prefix", env: map[string]string{EnvSecretPrefix: "a b"}, wantErr: EnvSecretPrefix},
		{name: "bad base url", env: map[string]string{EnvDatadogBaseURL: "127.0.0.1:4580"}, wantErr: EnvDatadogBaseURL},
		{name: "bad arn", env: map[string]string{EnvRotationFunctionARN: "rotate"}, wantErr: EnvRotationFunctionARN},
		{name: "bad level", env: map[string]string{EnvLogLevel: "loud"}, wantErr: EnvLogLevel},
		{name: "bus name", env: map[string]string{EnvEventBus: " ddconn-events "}, want: Config{SecretPrefix: DefaultSecretPrefix, EventBus: "ddconn-events"}},
		{name: "min rotate interval", env: map[string]string{EnvMinRotateInterval: "5m"}, want: Config{SecretPrefix: DefaultSecretPrefix, MinRotateInterval: 5 * time.Minute}},
		{name: "no min rotate interval", env: map[string]string{EnvMinRotateInterval: "0s"}, want: Config{SecretPrefix: DefaultSecretPrefix, MinRotateInterval: -1}},
		{name: "bad min rotate interval", env: map[string]string{EnvMinRotateInterval: "-1m"}, wantErr: EnvMinRotateInterval},
		{name: "access policy", env: map[string]string{EnvAccessPolicySecret: " ddconn/access-policy ", EnvGroupsClaim: "groups"},
			want: Config{SecretPrefix: DefaultSecretPrefix, AccessPolicySecret: "ddconn/access-policy", GroupsClaim: "groups"}},
		{name: "access policy within reach", env: map[string]string{EnvAccessPolicySecret: DefaultSecretPrefix + "policy"}, wantErr: EnvAccessPolicySecret},
		{name: "access policy ARN within reach", env: map[string]string{EnvAccessPolicySecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + DefaultSecretPrefix + "policy-AbCdEf"},
			wantErr: EnvAccessPolicySecret},
		{name: "bus arn", env: map[string]string{EnvEventBus: "arn:aws:events:us-east-1:123456789012:event-bus/default"},
			want: Config{SecretPrefix: DefaultSecretPrefix, EventBus: "arn:aws:events:us-east-1:123456789012:event-bus/default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			if got != tt.want {
				t.Fatalf("Load() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
