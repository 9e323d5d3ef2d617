package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// Authentication modes (--auth).
const (
	authIAM  = "iam"
	authJWT  = "jwt"
	authNone = "none"
)

// apiURLOutput is the output of template.yaml's stack that holds the API's
// base URL.
const apiURLOutput = "ApiUrl"

// defaultEventBus is the bus provisioning requests go to when neither
// --bus nor the profile names one: the stack's EventBusName default.
const defaultEventBus = "default"

// configFile is the file of named profiles, one per stack:
//
//	{"defaultProfile": "prod",
//	 "profiles": {"prod": {"stack": "ddconn", "region": "eu-west-1", "awsProfile": "ops"},
//	              "dev": {"endpoint": "http://127.0.0.1:3000", "eventsEndpoint": "http://127.0.0.1:4566"}}}
type configFile struct {
	DefaultProfile string             `json:"defaultProfile"`
	Profiles       map[string]profile `json:"profiles"`
}

// profile is where one stack is and how to call it; every field is
// optional and a flag or environment variable overrides it.
type profile struct {
	Endpoint       string `json:"endpoint"`
	Stack          string `json:"stack"`
	Auth           string `json:"auth"`
	Region         string `json:"region"`
	AWSProfile     string `json:"awsProfile"`
	TokenCommand   string `json:"tokenCommand"`
	EventBus       string `json:"eventBus"`
	EventsEndpoint string `json:"eventsEndpoint"`
}

// target is the resolved stack: the API's URL and how to authenticate.
type target struct {
	endpoint *url.URL
	auth     string
	region   string // "" until needed (IAM mode resolves it)
	profile  profile
	awsCfg   *aws.Config
}

// loadProfile reads the profile the flags, the environment or the config
// file's default name. A missing config file is an empty one, unless a
// profile was asked for by name.
func (a *app) loadProfile() (profile, error) {
	name := cmp.Or(a.profile, a.getenv("DDCONN_PROFILE"))
	path := cmp.Or(a.configFile, a.getenv("DDCONN_CONFIG"))
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			if name != "" {
				return profile{}, fmt.Errorf("finding the config file for profile %q: %w", name, err)
			}
			return profile{}, nil
		}
		path = filepath.Join(dir, "ddconn", "config.json")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && name == "" {
		return profile{}, nil
	}
	if err != nil {
		return profile{}, fmt.Errorf("reading the config file: %w", err)
	}
	var cf configFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return profile{}, fmt.Errorf("reading the config file %s: %w", path, err)
	}
	name = cmp.Or(name, cf.DefaultProfile)
	if name == "" {
		return profile{}, nil
	}
	p, ok := cf.Profiles[name]
	if !ok {
		return profile{}, usageErrorf("no profile %q in %s", name, path)
	}
	return p, nil
}

// resolve finds the stack once per run: flag, then environment, then
// profile, for each setting.
func (a *app) resolve(ctx context.Context) (*target, error) {
	if a.target != nil {
		return a.target, nil
	}
	p, err := a.loadProfile()
	if err != nil {
		return nil, err
	}
	t := &target{profile: p}
	t.auth = cmp.Or(a.auth, a.getenv("DDCONN_AUTH"), p.Auth)
	t.region = cmp.Or(a.region, p.Region)
	raw := cmp.Or(a.endpoint, a.getenv("DDCONN_ENDPOINT"))
	stack := cmp.Or(a.stack, a.getenv("DDCONN_STACK"))
	if raw == "" && stack == "" {
		raw, stack = p.Endpoint, p.Stack
	}
	if raw == "" && stack != "" {
		if raw, err = a.discover(ctx, t, stack); err != nil {
			return nil, err
		}
	}
	if raw == "" {
		return nil, usageErrorf("no endpoint: give --endpoint URL (or DDCONN_ENDPOINT), --stack NAME (or DDCONN_STACK) " +
			"for a deployed stack, or a profile (docs/cli.md); make dev serves http://127.0.0.1:3000")
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usageErrorf("endpoint %q: want an http(s) URL such as https://abc123.execute-api.eu-west-1.amazonaws.com", raw)
	}
	t.endpoint = u
	if t.auth == "" {
		t.auth = authIAM
		if isLoopback(u.Hostname()) {
			t.auth = authNone
		}
	}
	switch t.auth {
	case authIAM, authJWT, authNone:
	default:
		return nil, usageErrorf("--auth %q: want iam, jwt or none", t.auth)
	}
	if t.region == "" {
		t.region = regionOfHost(u.Hostname())
	}
	a.target = t
	return t, nil
}

// awsConfig loads the AWS configuration once, as the AWS CLI does:
// environment, shared config and credentials files, SSO, instance roles.
func (a *app) awsConfig(ctx context.Context, t *target) (aws.Config, error) {
	if t.awsCfg != nil {
		return *t.awsCfg, nil
	}
	var opts []func(*config.LoadOptions) error
	if p := cmp.Or(a.awsProfile, t.profile.AWSProfile); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	if t.region != "" {
		opts = append(opts, config.WithRegion(t.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, &authError{err: fmt.Errorf("loading the AWS configuration: %w", err)}
	}
	if cfg.Region == "" {
		return aws.Config{}, usageErrorf("no AWS region: give --region, set AWS_REGION, or set a region in your AWS profile")
	}
	t.region = cfg.Region
	t.awsCfg = &cfg
	return cfg, nil
}

// discover reads the API URL from the stack's outputs.
func (a *app) discover(ctx context.Context, t *target, stack string) (string, error) {
	cfg, err := a.awsConfig(ctx, t)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return "", classifyAWSError(fmt.Errorf("finding stack %s in %s: %w", stack, cfg.Region, err))
	}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			if aws.ToString(o.OutputKey) == apiURLOutput && aws.ToString(o.OutputValue) != "" {
				return aws.ToString(o.OutputValue), nil
			}
		}
	}
	return "", fmt.Errorf("stack %s in %s has no %s output: is it a ddconn stack (template.yaml)?", stack, cfg.Region, apiURLOutput)
}

// executeAPIHost matches API Gateway's default host names, whose third
// label is the region.
var executeAPIHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

func regionOfHost(host string) string {
	if m := executeAPIHost.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
