package datadog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// DefaultTimeout bounds each HTTP request when Options.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Options configures a Client.
type Options struct {
	// BaseURL, when set, sends every call to this URL (scheme and host only,
	// such as "http://127.0.0.1:4580") instead of the credentials' site.
	// For dev and tests; "" means the real Datadog site.
	BaseURL string
	// HTTPClient carries the requests; nil means a client with DefaultTimeout.
	// New uses a copy whose CheckRedirect refuses every redirect.
	HTTPClient *http.Client
	// Retry configures the client's own retry of 429 and 5xx answers.
	Retry Retry
}

// Retry configures the Datadog client's retry of 429 and 5xx answers. The
// client waits 2 s, 4 s, 8 s… between attempts, and after a 429 at least
// until the X-RateLimit-Reset it gave, plus up to Jitter at random, so calls
// that a rate limit refused together do not come back together. It gives
// up at once when the next wait would end after Timeout: a rotation step
// that cannot get through within its window fails, and Secrets Manager
// retries the rotation, instead of running into the function's timeout.
// Transport errors are not retried.
type Retry struct {
	// Enabled turns retries on.
	Enabled bool
	// MaxRetries is the number of retries after the first attempt; 0 means
	// the client's default (3).
	MaxRetries int
	// Timeout is the window, from the start of a call, in which a retry may
	// begin; 0 means the client's default (60 s).
	Timeout time.Duration
	// Jitter is the most added at random to each wait; 0 means
	// DefaultRetryJitter.
	Jitter time.Duration
}

// DefaultRetryJitter is Retry.Jitter's default: Datadog's rate-limit
// windows reset on whole seconds, so a second spreads the callers a reset
// released over the next window.
const DefaultRetryJitter = time.Second

// Client calls Datadog on behalf of any number of connections. It is safe for
// concurrent use.
type Client struct {
	api   *dd.APIClient
	auth  *datadogV1.AuthenticationApi
	keys  *datadogV2.KeyManagementApi
	sas   *datadogV2.ServiceAccountsApi
	users *datadogV2.UsersApi
	// base is the parsed Options.BaseURL, nil for the real sites.
	base *url.URL
	// configErr is returned by every call when Options.BaseURL is unusable:
	// New has no error result, and a misconfigured dev override must fail
	// loudly rather than silently talk to the real Datadog.
	configErr error
}

// New builds the Datadog API client once; every call reuses it.
func New(opts Options) *Client {
	cfg := dd.NewConfiguration()
	cfg.HTTPClient = noRedirects(opts.HTTPClient)
	cfg.RetryConfiguration.EnableRetry = opts.Retry.Enabled
	if opts.Retry.MaxRetries > 0 {
		cfg.RetryConfiguration.MaxRetries = opts.Retry.MaxRetries
	}
	if opts.Retry.Timeout > 0 {
		cfg.RetryConfiguration.HTTPRetryTimeout = opts.Retry.Timeout
	}
	if opts.Retry.Enabled {
		cfg.RetryConfiguration.RetryJitter = cmp.Or(opts.Retry.Jitter, DefaultRetryJitter)
	}
	api := dd.NewAPIClient(cfg)
	c := &Client{
		api:   api,
		auth:  datadogV1.NewAuthenticationApi(api),
		keys:  datadogV2.NewKeyManagementApi(api),
		sas:   datadogV2.NewServiceAccountsApi(api),
		users: datadogV2.NewUsersApi(api),
	}
	if opts.BaseURL != "" {
		c.base, c.configErr = parseBaseURL(opts.BaseURL)
	}
	return c
}

// noRedirects returns a copy of hc (or of a client with DefaultTimeout when
// hc is nil) that never follows a redirect: every request carries
// DD-API-KEY and DD-APPLICATION-KEY, which must reach no host but the one
// chosen from the allow-list. The 3xx answer itself comes back to the
// caller, and translate turns it into an error.
func noRedirects(hc *http.Client) *http.Client {
	c := http.Client{Timeout: DefaultTimeout}
	if hc != nil {
		c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("datadog: invalid base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, errors.New("datadog: invalid base URL: want scheme://host[:port] with no path or userinfo")
	}
	return u, nil
}

// withCredentials returns the context a client call needs: the keys, and the
// server to talk to. A key left empty is not sent at all.
func (c *Client) withCredentials(ctx context.Context, cr Credentials) (context.Context, error) {
	if c.configErr != nil {
		return nil, c.configErr
	}
	keys := map[string]dd.APIKey{}
	if cr.APIKey != "" {
		keys["apiKeyAuth"] = dd.APIKey{Key: cr.APIKey}
	}
	if cr.AppKey != "" {
		keys["appKeyAuth"] = dd.APIKey{Key: cr.AppKey}
	}
	ctx = context.WithValue(ctx, dd.ContextAPIKeys, keys)
	if c.base != nil {
		// Server 1 is "{protocol}://{name}": the simulator in dev and tests.
		ctx = context.WithValue(ctx, dd.ContextServerIndex, 1)
		return context.WithValue(ctx, dd.ContextServerVariables,
			map[string]string{"protocol": c.base.Scheme, "name": c.base.Host}), nil
	}
	if cr.Site.IsZero() {
		return nil, errors.New("datadog: credentials have no site")
	}
	// Server 0 is "https://{subdomain}.{site}" with site checked against the
	// client's own enum: a second guard behind package site's allow-list.
	return context.WithValue(ctx, dd.ContextServerVariables, map[string]string{"site": cr.Site.Param}), nil
}
