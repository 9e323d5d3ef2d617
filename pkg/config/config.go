package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Environment variable names, kept in one place so the template test can check
// that every variable a function reads is set by template.yaml.
const (
	EnvSecretPrefix        = "DDCONN_SECRET_PREFIX"
	EnvKMSKeyID            = "DDCONN_KMS_KEY_ID"
	EnvDatadogBaseURL      = "DDCONN_DATADOG_BASE_URL"
	EnvRotationFunctionARN = "DDCONN_ROTATION_FUNCTION_ARN"
	EnvLogLevel            = "DDCONN_LOG_LEVEL"
	EnvEventBus            = "DDCONN_EVENT_BUS"
	EnvMinRotateInterval   = "DDCONN_MIN_ROTATE_INTERVAL"
	EnvAccessPolicySecret  = "DDCONN_ACCESS_POLICY_SECRET"
	EnvGroupsClaim         = "DDCONN_GROUPS_CLAIM"
)

// DefaultSecretPrefix is the prefix of connection secret names when
// DDCONN_SECRET_PREFIX is unset.
const DefaultSecretPrefix = "ddconn/connections/"

// Config is ddconn's configuration.
type Config struct {
	// SecretPrefix is prepended to a connection's name to form its secret name.
	SecretPrefix string
	// KMSKeyID encrypts new secrets; empty means Secrets Manager's default key.
	KMSKeyID string
	// DatadogBaseURL, for dev and tests only, sends every Datadog call to this
	// base URL (the simulator). User-supplied URLs are still allow-listed.
	DatadogBaseURL string
	// RotationFunctionARN is the rotation Lambda given to RotateSecret.
	RotationFunctionARN string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// EventBus is the name or ARN of the EventBridge bus that outcome events
	// (Connection Created, Provisioning Failed, Rotation Failed…) are
	// published to; empty means nothing is published. eventbus.New checks
	// its form.
	EventBus string
	// MinRotateInterval is the least time between a rotation and a
	// rotate-now request (connection.Options.MinRotateInterval): 0 when
	// unset means the default, a negative value (set as "0") no minimum.
	MinRotateInterval time.Duration
	// AccessPolicySecret is the name or ARN of the secret holding the
	// access policy (package access); empty means no policy: every caller
	// is an administrator.
	AccessPolicySecret string
	// GroupsClaim is the JWT claim holding a caller's groups; empty means
	// apigateway.DefaultGroupsClaim.
	GroupsClaim string
}

// Load reads the configuration through getenv (os.Getenv in production) and
// validates it. The error names the variable to fix.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		SecretPrefix:        getenv(EnvSecretPrefix),
		KMSKeyID:            strings.TrimSpace(getenv(EnvKMSKeyID)),
		DatadogBaseURL:      strings.TrimRight(strings.TrimSpace(getenv(EnvDatadogBaseURL)), "/"),
		RotationFunctionARN: strings.TrimSpace(getenv(EnvRotationFunctionARN)),
		EventBus:            strings.TrimSpace(getenv(EnvEventBus)),
		AccessPolicySecret:  strings.TrimSpace(getenv(EnvAccessPolicySecret)),
		GroupsClaim:         strings.TrimSpace(getenv(EnvGroupsClaim)),
	}
	if c.SecretPrefix == "" {
		c.SecretPrefix = DefaultSecretPrefix
	}
	if err := validPrefix(c.SecretPrefix); err != nil {
		return Config{}, fmt.Errorf("%s: %w", EnvSecretPrefix, err)
	}
	if c.AccessPolicySecret != "" && strings.HasPrefix(secretName(c.AccessPolicySecret), c.SecretPrefix) {
		// The functions may write every secret under the prefix; the policy
		// that bounds them must be out of their reach.
		return Config{}, fmt.Errorf("%s: the access policy's secret must not be under %s (%s)", EnvAccessPolicySecret, EnvSecretPrefix, c.SecretPrefix)
	}
	if c.DatadogBaseURL != "" {
		u, err := url.Parse(c.DatadogBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("%s: want an http(s) base URL such as http://127.0.0.1:4580", EnvDatadogBaseURL)
		}
	}
	if c.RotationFunctionARN != "" && !strings.HasPrefix(c.RotationFunctionARN, "arn:") {
		return Config{}, fmt.Errorf("%s: want a Lambda function ARN (arn:aws:lambda:…)", EnvRotationFunctionARN)
	}
	if v := strings.TrimSpace(getenv(EnvMinRotateInterval)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 24*time.Hour {
			return Config{}, fmt.Errorf("%s: want a duration from 0s (no minimum) to 24h, such as 1m", EnvMinRotateInterval)
		}
		c.MinRotateInterval = d
		if d == 0 {
			c.MinRotateInterval = -1
		}
	}
	if lvl := strings.TrimSpace(getenv(EnvLogLevel)); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return Config{}, fmt.Errorf("%s: want debug, info, warn or error", EnvLogLevel)
		}
	}
	return c, nil
}

// validPrefix checks the prefix against Secrets Manager's name alphabet, leaving
// room for a 64-character connection name (names may be 512 characters).
func validPrefix(p string) error {
	if len(p) > 256 {
		return fmt.Errorf("prefix longer than 256 characters")
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+=.@-", r)) {
			return fmt.Errorf("prefix contains %q; use letters, digits and /_+=.@-", r)
		}
	}
	return nil
}

// secretName is the name in a secret's name or ARN (the ARN's random
// suffix stays, which does not change what the name starts with).
func secretName(id string) string {
	if parts := strings.SplitN(id, ":", 7); len(parts) == 7 && parts[0] == "arn" {
		return parts[6]
	}
	return id
}
