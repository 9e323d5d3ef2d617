package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ddconn/ddconn/internal/devstack"
)

// TestSigV4 runs the CLI against a dev stack that checks every request's
// SigV4 signature: its signed requests pass; unsigned ones, ones signed
// with another secret, and its own signed requests changed after signing
// are refused.
func TestSigV4(t *testing.T) {
	st := startStack(t, io.Discard, func(o *devstack.Options) { o.RequireSigV4 = true })
	isolate(t, st.APIURL)
	t.Setenv("AWS_ACCESS_KEY_ID", devstack.SigV4Credentials.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", devstack.SigV4Credentials.SecretAccessKey)
	t.Setenv("AWS_REGION", "us-east-1")

	must(t, nil, ExitOK, "", "--auth", "iam", "connections", "list")
	must(t, nil, ExitNotFound, "", "--auth", "iam", "connections", "get", "nope")
	must(t, nil, ExitFailed, credsJSON("0123456789abcdef0123456789abcdef", strings.Repeat("0", 40)),
		"--auth", "iam", "connections", "validate", "--url", "datadoghq.com", "--credentials-file", "-")
	must(t, nil, ExitOK, "", "--auth", "iam", "status")

	r := must(t, nil, ExitAuth, "", "connections", "list") // loopback: unsigned by default
	if !strings.Contains(r.stderr, "execute-api:Invoke") {
		t.Errorf("a refusal by the authoriser says what to check:\n%s", r.stderr)
	}
	must(t, nil, ExitAuth, "", "--auth", "iam", "--region", "eu-west-1", "connections", "list")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	must(t, nil, ExitAuth, "", "--auth", "iam", "connections", "list")

	// The CLI's own signer, then a change after signing.
	creds := credentials.NewStaticCredentialsProvider(devstack.SigV4Credentials.AccessKeyID, devstack.SigV4Credentials.SecretAccessKey, "")
	sign := sigV4(creds, "us-east-1")
	base, _ := url.Parse(st.APIURL)
	for _, tt := range []struct {
		name   string
		tamper func(*http.Request)
		want   int
	}{
		{"as signed", func(*http.Request) {}, http.StatusBadRequest},
		{"body changed", func(r *http.Request) {
			b := `{"credentials":{"url":"datadoghq.eu"}}`
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
		}, http.StatusForbidden},
		{"path changed", func(r *http.Request) { r.URL.Path = "/connections/other/validate" }, http.StatusForbidden},
		{"signature dropped", func(r *http.Request) { r.Header.Del("Authorization") }, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"credentials":{"url":"datadoghq.com"}}`
			u := *base
			u.Path = "/connections/validate"
			req, _ := http.NewRequest("POST", u.String(), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if err := sign(context.Background(), req, []byte(body)); err != nil {
				t.Fatal(err)
			}
			tt.tamper(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestExpiredSSOSession checks that a profile whose SSO session has
// expired (no cached token) fails with exit 5 and names `aws sso login`.
func TestExpiredSSOSession(t *testing.T) {
	isolate(t, "https://abc123.execute-api.eu-west-1.amazonaws.com")
	config := "[profile ops]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n" +
		"sso_account_id = 123456789012\nsso_role_name = Operator\nregion = eu-west-1\n"
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	r := must(t, nil, ExitAuth, "", "--aws-profile", "ops", "connections", "list")
	if !strings.Contains(r.stderr, "aws sso login") {
		t.Errorf("the error names aws sso login:\n%s", r.stderr)
	}
	r = must(t, nil, ExitAuth, "", "connections", "list") // no credentials at all
	if !strings.Contains(r.stderr, "No AWS credentials") {
		t.Errorf("the error says what to set up:\n%s", r.stderr)
	}
}

// TestStackDiscovery finds the API URL in a CloudFormation stack's
// outputs, from a stand-in that answers DescribeStacks as AWS does.
func TestStackDiscovery(t *testing.T) {
	st := startStack(t, io.Discard, nil)
	var calls atomic.Int32
	cfn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		if r.Form.Get("Action") != "DescribeStacks" || r.Form.Get("StackName") != "ddconn" || r.Header.Get("Authorization") == "" {
			w.WriteHeader(400)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id x does not exist</Message></Error></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>ddconn</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>
<Outputs><member><OutputKey>ApiExecuteArn</OutputKey><OutputValue>arn:aws:execute-api:us-east-1:123456789012:abc/*</OutputValue></member>
<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member></Outputs></member></Stacks></DescribeStacksResult>
<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`, apiURLOutput, st.APIURL)
	}))
	defer cfn.Close()
	isolate(t, "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", cfn.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")

	if r := must(t, nil, ExitOK, "", "--stack", "ddconn", "status"); !strings.Contains(r.stdout, "no connections") {
		t.Errorf("status through the discovered endpoint:\n%s", r.stdout)
	}
	t.Setenv("DDCONN_STACK", "ddconn")
	must(t, nil, ExitOK, "", "connections", "list")
	if r := must(t, nil, ExitUnavailable, "", "--stack", "other", "connections", "list"); !strings.Contains(r.stderr, "finding stack other") {
		t.Errorf("an unknown stack:\n%s", r.stderr)
	}
	if calls.Load() != 3 {
		t.Errorf("DescribeStacks called %d times, want once per run", calls.Load())
	}
}

// TestProfilesAndJWT reads the endpoint and the auth mode from a profile
// of the config file, and sends JWT mode's token from a command.
func TestProfilesAndJWT(t *testing.T) {
	var auth atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"connections":[]}`)
	}))
	defer api.Close()
	isolate(t, "")
	cfg := filepath.Join(t.TempDir(), "config.json")
	doc := `{"defaultProfile":"prod","profiles":{"prod":{"endpoint":"` + api.URL + `","auth":"jwt","tokenCommand":"echo token-from-command"},
	  "dev":{"endpoint":"` + api.URL + `"}}}`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DDCONN_CONFIG", cfg)

	must(t, nil, ExitOK, "", "connections", "list")
	if got := auth.Load(); got != "Bearer token-from-command" {
		t.Errorf("Authorization = %q", got)
	}
	t.Setenv("DDCONN_TOKEN", "token-from-env")
	must(t, nil, ExitOK, "", "connections", "list")
	if got := auth.Load(); got != "Bearer token-from-env" {
		t.Errorf("Authorization = %q", got)
	}
	must(t, nil, ExitOK, "", "--profile", "dev", "connections", "list")
	if got := auth.Load(); got != "" {
		t.Errorf("a loopback endpoint is called without credentials; Authorization = %q", got)
	}
	must(t, nil, ExitUsage, "", "--profile", "nope", "connections", "list")
	t.Setenv("DDCONN_TOKEN", "")
	must(t, nil, ExitAuth, "", "--token-command", "exit 3", "connections", "list")
}

// TestNoEndpoint and an unreachable one say what to do.
func TestNoEndpoint(t *testing.T) {
	isolate(t, "")
	if r := must(t, nil, ExitUsage, "", "status"); !strings.Contains(r.stderr, "--endpoint") {
		t.Errorf("no endpoint:\n%s", r.stderr)
	}
	if r := must(t, nil, ExitUnavailable, "", "--endpoint", "http://127.0.0.1:1", "status"); !strings.Contains(r.stderr, "make dev") {
		t.Errorf("an unreachable endpoint:\n%s", r.stderr)
	}
	must(t, nil, ExitUsage, "", "--endpoint", "ftp://example.com", "status")
}

// TestHelp checks that every command has a short description and
// examples, and that -o completes.
func TestHelp(t *testing.T) {
	root := newApp(IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}).rootCommand()
	cmds := root.Commands()
	for len(cmds) > 0 {
		c := cmds[0]
		cmds = append(cmds[1:], c.Commands()...)
		if c.Hidden {
			continue
		}
		if c.Short == "" || c.Example == "" {
			t.Errorf("%q has no short description or no example", c.CommandPath())
		}
	}
	isolate(t, "")
	r := must(t, nil, ExitOK, "", "__complete", "status", "-o", "")
	if !strings.Contains(r.stdout, "table") || !strings.Contains(r.stdout, "json") {
		t.Errorf("-o completes to table and json:\n%s", r.stdout)
	}
}

// TestColour paints only when stdout is a terminal and nothing turns
// colour off.
func TestColour(t *testing.T) {
	a := newApp(IO{Stdout: io.Discard})
	a.getenv = func(string) string { return "" }
	a.output = outputTable
	if err := a.setUp(); err != nil || a.colour {
		t.Fatalf("colour on a non-terminal: %v %v", a.colour, err)
	}
	if got := a.paint(colourRed, "x"); got != "x" {
		t.Errorf("paint without colour = %q", got)
	}
	a.colour = true
	if got := a.paint(colourRed, "x"); got != "\x1b[31mx\x1b[0m" {
		t.Errorf("paint = %q", got)
	}
}
