package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/deploy"
	"github.com/ddconn/ddconn/pkg/config"
)

// TestFunctionEnv checks the environment the harness gives each function
// from template.yaml: in particular the manage function must name, as its
// rotation function, the ARN the emulator routes to the rotate binary's RIE,
// or RotateSecret would fail with "cannot invoke" in the journey.
func TestFunctionEnv(t *testing.T) {
	tpl, err := deploy.Load(filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	opts := StackOptions{Template: tpl}
	tests := []struct {
		id      string
		want    []string // KEY=VALUE entries that must be present
		without []string // KEYs that must be absent
	}{
		{
			id: "ManageFunction",
			want: []string{
				config.EnvRotationFunctionARN + "=" + RotateFunctionARN,
				config.EnvKMSKeyID + "=" + ConnectionKeyARN,
				config.EnvSecretPrefix + "=" + config.DefaultSecretPrefix,
				"AWS_ENDPOINT_URL_SECRETS_MANAGER=http://sm.test",
				"AWS_ENDPOINT_URL_EVENTBRIDGE=http://eb.test",
				config.EnvDatadogBaseURL + "=http://dd.test",
				// "Rotation Rolled Back".
				config.EnvEventBus + "=default",
			},
		},
		{
			id: "RotateFunction",
			want: []string{
				config.EnvSecretPrefix + "=" + config.DefaultSecretPrefix, "AWS_LAMBDA_FUNCTION_TIMEOUT=300",
				config.EnvEventBus + "=default", "AWS_ENDPOINT_URL_EVENTBRIDGE=http://eb.test",
			},
			without: []string{config.EnvRotationFunctionARN, config.EnvKMSKeyID},
		},
		{
			id: "CreateFunction",
			want: []string{
				config.EnvKMSKeyID + "=" + ConnectionKeyARN,
				config.EnvRotationFunctionARN + "=" + RotateFunctionARN,
				config.EnvEventBus + "=default",
				"AWS_ENDPOINT_URL_EVENTBRIDGE=http://eb.test",
			},
		},
		{
			id:      "ValidateFunction",
			want:    []string{"AWS_ENDPOINT_URL_EVENTBRIDGE=http://eb.test"},
			without: []string{config.EnvEventBus, config.EnvKMSKeyID},
		},
	}
	ends := endpoints{secretsManager: "http://sm.test", eventBridge: "http://eb.test", datadog: "http://dd.test"}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			env, err := functionEnv(opts, tt.id, ends)
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range tt.want {
				if !slices.Contains(env, kv) {
					t.Errorf("environment lacks %s; it is %v", kv, env)
				}
			}
			for _, key := range tt.without {
				if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") }) {
					t.Errorf("environment sets %s; %s does not read it", key, tt.id)
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	values := map[string]string{"Ref SecretPrefix": "p/", "GetAtt RotateFunction.Arn": RotateFunctionARN}
	tests := []struct {
		name    string
		in      any
		want    string
		wantErr bool
	}{
		{"literal", "info", "info", false},
		{"Ref", map[string]any{"Ref": "SecretPrefix"}, "p/", false},
		{"GetAtt", map[string]any{"Fn::GetAtt": []any{"RotateFunction", "Arn"}}, RotateFunctionARN, false},
		{"unknown Ref", map[string]any{"Ref": "AuthMode"}, "", true},
		{"Sub", map[string]any{"Fn::Sub": "arn:x:secret:${SecretPrefix}staging/*"}, "arn:x:secret:p/staging/*", false},
		{"Sub with GetAtt", map[string]any{"Fn::Sub": "${RotateFunction.Arn}:1"}, RotateFunctionARN + ":1", false},
		{"Sub without variables", map[string]any{"Fn::Sub": "plain"}, "plain", false},
		{"Sub of an unknown value", map[string]any{"Fn::Sub": "${SecretPrefix}${AWS::Region}"}, "", true},
		{"Sub unclosed", map[string]any{"Fn::Sub": "${SecretPrefix"}, "", true},
		{"Sub list form", map[string]any{"Fn::Sub": []any{"${x}", map[string]any{"x": "1"}}}, "", true},
		{"unsupported intrinsic", map[string]any{"Fn::Join": []any{"", []any{"a"}}}, "", true},
		{"number", 3, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolve(tt.in, values)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("resolve(%v) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
