package cli

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
)

// executeAPI is the service name API Gateway's IAM authorisation checks
// signatures for.
const executeAPI = "execute-api"

// maxAnswer bounds an answer read from the API.
const maxAnswer = 8 << 20

// client calls the API of one stack.
type client struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	// authorize adds the credentials to a request whose body is body.
	authorize func(ctx context.Context, req *http.Request, body []byte) error
}

// client builds the API client once per run.
func (a *app) client(ctx context.Context) (*client, error) {
	if a.api != nil {
		return a.api, nil
	}
	t, err := a.resolve(ctx)
	if err != nil {
		return nil, err
	}
	c := &client{base: t.endpoint, http: &http.Client{}, timeout: a.timeout}
	switch t.auth {
	case authIAM:
		cfg, err := a.awsConfig(ctx, t)
		if err != nil {
			return nil, err
		}
		c.authorize = sigV4(cfg.Credentials, t.region)
	case authJWT:
		token, err := a.bearerToken(ctx, t)
		if err != nil {
			return nil, err
		}
		c.authorize = func(_ context.Context, req *http.Request, _ []byte) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}
	default:
		c.authorize = func(context.Context, *http.Request, []byte) error { return nil }
	}
	a.api = c
	return c, nil
}

// sigV4 signs requests for execute-api in region with the SDK's signer.
func sigV4(creds aws.CredentialsProvider, region string) func(context.Context, *http.Request, []byte) error {
	signer := v4.NewSigner()
	return func(ctx context.Context, req *http.Request, body []byte) error {
		if creds == nil {
			return &authError{err: errors.New("no AWS credentials")}
		}
		c, err := creds.Retrieve(ctx)
		if err != nil {
			return classifyAWSError(fmt.Errorf("getting AWS credentials: %w", err))
		}
		sum := sha256.Sum256(body)
		return signer.SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), executeAPI, region, time.Now())
	}
}

// bearerToken reads JWT mode's token: DDCONN_TOKEN, else what the token
// command prints.
func (a *app) bearerToken(ctx context.Context, t *target) (string, error) {
	if tok := strings.TrimSpace(a.getenv("DDCONN_TOKEN")); tok != "" {
		return tok, nil
	}
	command := cmp.Or(a.tokenCommand, a.getenv("DDCONN_TOKEN_COMMAND"), t.profile.TokenCommand)
	if command == "" {
		return "", &authError{err: errors.New("JWT mode needs a token: set DDCONN_TOKEN, or give --token-command (or DDCONN_TOKEN_COMMAND) " +
			"with a command that prints one")}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", &authError{err: fmt.Errorf("the token command failed (%v): %s", err, strings.TrimSpace(stderr.String()))}
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" {
		return "", &authError{err: errors.New("the token command printed no token")}
	}
	return tok, nil
}

// call sends one request; in, when not nil, is the JSON body. It returns
// the answer's body for a 2xx, and an *apiError for any other status.
func (c *client) call(ctx context.Context, method, path string, query url.Values, in any) ([]byte, error) {
	var (
		body []byte
		err  error
	)
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
	}
	u := *c.base
	// path holds escaped segments (url.PathEscape); RawPath keeps them so.
	u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, fmt.Errorf("building the request path: %w", err)
	}
	u.RawQuery = query.Encode()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ddconn-cli")
	if err := c.authorize(ctx, req, body); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &unavailableError{err: fmt.Errorf("%s %s: %w", method, path, err),
			hint: "Is the endpoint right (" + c.base.String() + ")? Against make dev: is it running?"}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, &unavailableError{err: fmt.Errorf("%s %s: reading the answer: %w", method, path, err)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, newAPIError(resp, answer)
	}
	return answer, nil
}

// call sends one request with the run's client and decodes the answer
// into a T; it also returns the answer as it came, for emit.
func call[T any](ctx context.Context, a *app, method, path string, query url.Values, body any) (T, []byte, error) {
	var out T
	api, err := a.client(ctx)
	if err != nil {
		return out, nil, err
	}
	raw, err := api.do(ctx, method, path, query, body, &out)
	return out, raw, err
}

// get calls GET path and decodes the answer into out (when not nil).
func (c *client) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

// do calls the API and decodes the answer into out (when not nil).
func (c *client) do(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	b, err := c.call(ctx, method, path, query, in)
	if err != nil {
		return nil, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return b, nil
}

// apiError is an answer other than 2xx: ddconn's error shape, or API
// Gateway's ({"message": …}) when its authoriser refused the request.
type apiError struct {
	Status    int
	Code      string
	Message   string
	Details   []fieldError
	RequestID string
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func newAPIError(resp *http.Response, body []byte) *apiError {
	var doc struct {
		Error *struct {
			Code    string       `json:"code"`
			Message string       `json:"message"`
			Details []fieldError `json:"details"`
		} `json:"error"`
		RequestID string `json:"requestId"`
		Message   string `json:"message"` // API Gateway's
	}
	_ = json.Unmarshal(body, &doc)
	e := &apiError{Status: resp.StatusCode, RequestID: doc.RequestID}
	switch {
	case doc.Error != nil:
		e.Code, e.Message, e.Details = doc.Error.Code, doc.Error.Message, doc.Error.Details
	case doc.Message != "":
		e.Message = doc.Message
	default:
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.RequestID == "" {
		e.RequestID = cmp.Or(resp.Header.Get("X-Request-Id"), resp.Header.Get("Apigw-Requestid"))
	}
	return e
}

// fromGateway reports whether API Gateway (or the dev server standing in
// for it), not ddconn, answered: its errors have no code.
func (e *apiError) fromGateway() bool { return e.Code == "" }

func (e *apiError) exitCode() int {
	switch {
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden && e.fromGateway():
		return ExitAuth
	case e.Status == http.StatusNotFound:
		return ExitNotFound
	case e.Status >= 500:
		return ExitUnavailable
	case e.Status >= 400:
		return ExitRefused
	}
	return ExitError
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	for _, d := range e.Details {
		fmt.Fprintf(&b, "\n  %s: %s", d.Field, d.Message)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("\n" + hint)
	}
	if e.RequestID != "" && (e.Status >= 500 || e.Code == "") {
		fmt.Fprintf(&b, "\n(request id %s: quote it when you report the problem)", e.RequestID)
	}
	return b.String()
}

// hint says what to do next, in ddconn commands.
func (e *apiError) hint() string {
	msg := strings.ToLower(e.Message)
	switch {
	case e.fromGateway() && strings.Contains(msg, "expired"):
		return "Your AWS credentials have expired: run `aws sso login` (SSO) or renew them, then try again."
	case e.fromGateway() && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized):
		return "The stack's authoriser refused the request: check that your AWS principal may call execute-api:Invoke on the " +
			"API (the stack's ApiExecuteArn output, docs/deploy.md), that --region is the stack's, and that --auth matches " +
			"its AuthMode (iam or jwt)."
	}
	switch e.Code {
	case "not_found":
		return "`ddconn connections list` lists the connections; `ddconn keys list CONNECTION` a connection's managed keys."
	case "rotation_not_enabled":
		return "Turn rotation on first: `ddconn rotation enable NAME --schedule 'rate(30 days)'`."
	case "rotation_in_progress":
		return "`ddconn rotate NAME --wait` follows (and resumes) the rotation in progress."
	case "connection_in_use":
		return "`ddconn keys list NAME` and `ddconn api-keys list NAME` show the managed keys; delete them first."
	case "credentials_rejected":
		return "`ddconn connections validate NAME` shows which check fails."
	case "datadog_unavailable", "secrets_manager_unavailable":
		return "This is usually temporary: try again in a minute."
	}
	return ""
}

// authError is missing or unusable credentials.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// unavailableError is a call that got no answer.
type unavailableError struct {
	err  error
	hint string
}

func (e *unavailableError) Error() string {
	if e.hint == "" {
		return e.err.Error()
	}
	return e.err.Error() + "\n" + e.hint
}
func (e *unavailableError) Unwrap() error { return e.err }

// classifyAWSError turns the SDK's credential failures into an authError
// that says what to run.
func classifyAWSError(err error) error {
	var sso *ssocreds.InvalidTokenError
	msg := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &sso), strings.Contains(msg, "sso") && (strings.Contains(msg, "expired") || strings.Contains(msg, "token")):
		return &authError{err: fmt.Errorf("%w\nYour AWS SSO session has expired or is missing: run `aws sso login` "+
			"(with --profile, if you use one), then try again", err)}
	case strings.Contains(msg, "expiredtoken") || strings.Contains(msg, "security token included in the request is expired"):
		return &authError{err: fmt.Errorf("%w\nYour AWS credentials have expired: renew them (`aws sso login` for SSO), then try again", err)}
	case strings.Contains(msg, "no ec2 imds role found") || strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "anonymous credentials") || strings.Contains(msg, "no aws credentials"):
		return &authError{err: fmt.Errorf("%w\nNo AWS credentials found: run `aws configure` or `aws sso login`, or set AWS_PROFILE; "+
			"against make dev, use --auth none", err)}
	case strings.Contains(msg, "accessdenied") || strings.Contains(msg, "not authorized"):
		return &authError{err: err}
	}
	return &unavailableError{err: err}
}
