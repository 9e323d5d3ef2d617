package datadog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/site"
)

// org is a simulated organisation with one API key and two owners.
type org struct {
	sim    *ddsim.Simulator
	client *datadog.Client
	orgID  string
	apiKey string
	userID string // a human user with user_app_keys and user_access_read
	saID   string // a service account with service_account_write
}

var us5 = mustSite("us5.datadoghq.com")

func mustSite(raw string) site.Site {
	s, err := site.Parse(raw)
	if err != nil {
		panic(err)
	}
	return s
}

func newOrg(t *testing.T, retry datadog.Retry) *org {
	t.Helper()
	sim, err := ddsim.New(ddsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	orgID := sim.CreateOrg("test")
	o := &org{sim: sim, orgID: orgID, client: datadog.New(datadog.Options{BaseURL: srv.URL, Retry: retry})}
	o.apiKey, _ = sim.AddAPIKey(orgID, "test")
	o.userID = sim.AddUser(orgID, ddsim.UserSpec{Name: "Ada", Permissions: []string{"user_app_keys", "user_access_read"}})
	o.saID = sim.AddUser(orgID, ddsim.UserSpec{Name: "robot", ServiceAccount: true,
		Permissions: []string{"service_account_write", "user_access_read", "user_app_keys"}})
	return o
}

// creds returns credentials for a new application key of owner.
func (o *org) creds(t *testing.T, owner string, scopes []string) datadog.Credentials {
	t.Helper()
	app, _ := o.sim.AddAppKey(owner, "key-"+t.Name(), scopes)
	return datadog.Credentials{Site: us5, APIKey: o.apiKey, AppKey: app}
}

func TestValidate(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	good := o.creds(t, o.userID, nil)
	badAPI := good
	badAPI.APIKey = strings.Repeat("0", 32)
	badApp := good
	badApp.AppKey = strings.Repeat("b", 40)
	tests := []struct {
		name             string
		cr               datadog.Credentials
		wantAPI, wantAll error
	}{
		{"good keys", good, nil, nil},
		{"bad API key", badAPI, datadog.ErrUnauthorized, datadog.ErrUnauthorized},
		{"bad application key", badApp, nil, datadog.ErrUnauthorized},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := o.client.ValidateAPIKey(ctx, tt.cr); !errors.Is(err, tt.wantAPI) || (tt.wantAPI == nil) != (err == nil) {
				t.Errorf("ValidateAPIKey = %v, want %v", err, tt.wantAPI)
			}
			if err := o.client.ValidateKeys(ctx, tt.cr); !errors.Is(err, tt.wantAll) || (tt.wantAll == nil) != (err == nil) {
				t.Errorf("ValidateKeys = %v, want %v", err, tt.wantAll)
			}
		})
	}
}

func TestCurrentUser(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	tests := []struct {
		name  string
		owner string
		sa    bool
	}{
		{"human user", o.userID, false},
		{"service account", o.saID, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := o.client.CurrentUser(context.Background(), o.creds(t, tt.owner, nil))
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != tt.owner || u.ServiceAccount != tt.sa || u.Email == "" {
				t.Fatalf("CurrentUser = %+v, want id %s service account %v", u, tt.owner, tt.sa)
			}
		})
	}
}

func TestListAppKeysReadsEveryPage(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	cr := o.creds(t, o.userID, []string{"user_app_keys"})
	for i := range 150 {
		o.sim.AddAppKey(o.userID, fmt.Sprintf("extra-%03d", i), []string{"metrics_read"})
	}
	keys, err := o.client.ListAppKeys(context.Background(), cr, datadog.KeyOwner{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 151 {
		t.Fatalf("ListAppKeys returned %d keys, want 151 (every page)", len(keys))
	}
	own := slices.IndexFunc(keys, func(k datadog.AppKey) bool { return k.Last4 == cr.AppKey[36:] })
	if own < 0 {
		t.Fatal("the caller's own key is not listed")
	}
	k := keys[own]
	if k.OwnerID != o.userID || !slices.Equal(k.Scopes, []string{"user_app_keys"}) || k.CreatedAt.IsZero() || k.Key != "" {
		t.Fatalf("own key = %+v", k)
	}
}

func TestAppKeyLifecycle(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	tests := []struct {
		name   string
		owner  func() (datadog.Credentials, datadog.KeyOwner)
		scopes []string
	}{
		{"own key, unscoped", func() (datadog.Credentials, datadog.KeyOwner) {
			return o.creds(t, o.userID, nil), datadog.KeyOwner{}
		}, nil},
		{"own key, scoped", func() (datadog.Credentials, datadog.KeyOwner) {
			return o.creds(t, o.userID, nil), datadog.KeyOwner{}
		}, []string{"user_app_keys"}},
		{"service account key", func() (datadog.Credentials, datadog.KeyOwner) {
			return o.creds(t, o.saID, nil), datadog.KeyOwner{ServiceAccountID: o.saID}
		}, []string{"user_access_read"}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr, owner := tt.owner()
			k, err := o.client.CreateAppKey(ctx, cr, owner, "rot-"+tt.name, tt.scopes)
			if err != nil {
				t.Fatal(err)
			}
			if len(k.Key) != 40 || k.ID == "" || k.Last4 != k.Key[36:] || !slices.Equal(k.Scopes, tt.scopes) {
				t.Fatalf("created key: id %q last4 %q scopes %v, key length %d", k.ID, k.Last4, k.Scopes, len(k.Key))
			}
			if (tt.scopes == nil) != (k.Scopes == nil) {
				t.Fatalf("scopes = %#v, want nil-ness of %#v", k.Scopes, tt.scopes)
			}
			if !o.sim.Authenticates(cr.APIKey, k.Key) {
				t.Fatal("the new key does not authenticate")
			}
			if err := o.client.DeleteAppKey(ctx, cr, owner, k.ID); err != nil {
				t.Fatal(err)
			}
			if o.sim.Authenticates(cr.APIKey, k.Key) {
				t.Fatal("the deleted key still authenticates")
			}
			if err := o.client.DeleteAppKey(ctx, cr, owner, k.ID); err != nil {
				t.Fatalf("deleting an absent key = %v, want nil (404 counts as done)", err)
			}
		})
	}
}

func TestListServiceAccounts(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	cr := o.creds(t, o.userID, nil)
	// 120 more service accounts force a second page of /api/v2/users.
	want := map[string]bool{o.saID: true}
	for i := range 120 {
		id := o.sim.AddUser(o.orgID, ddsim.UserSpec{Name: fmt.Sprintf("sa-%03d", i), ServiceAccount: true, Disabled: i == 0})
		want[id] = true
	}
	got, err := o.client.ListServiceAccounts(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListServiceAccounts returned %d accounts, want %d", len(got), len(want))
	}
	disabled := 0
	for _, u := range got {
		if !want[u.ID] || !u.ServiceAccount {
			t.Fatalf("unexpected account %+v (the human user must be filtered out)", u)
		}
		if u.Disabled {
			disabled++
		}
	}
	if disabled != 1 {
		t.Fatalf("%d disabled accounts, want 1", disabled)
	}
}

func TestErrors(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	cr := o.creds(t, o.userID, nil)
	ctx := context.Background()
	tests := []struct {
		name       string
		fault      ddsim.Fault
		call       func() error
		want       error
		wantStatus int
	}{
		{"5xx is unavailable", ddsim.Fault{Method: "GET", PathPrefix: "/api/v2/current_user", Status: 503},
			func() error { _, err := o.client.CurrentUser(ctx, cr); return err }, datadog.ErrUnavailable, 503},
		{"429 is unavailable", ddsim.Fault{Method: "GET", PathPrefix: "/api/v1/validate", Status: 429},
			func() error { return o.client.ValidateAPIKey(ctx, cr) }, datadog.ErrUnavailable, 429},
		{"404 is not found", ddsim.Fault{Method: "GET", PathPrefix: "/api/v2/users", Status: 404},
			func() error { _, err := o.client.ListServiceAccounts(ctx, cr); return err }, datadog.ErrNotFound, 404},
		{"400 is a bad request", ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/current_user/application_keys", Status: 400},
			func() error { _, err := o.client.CreateAppKey(ctx, cr, datadog.KeyOwner{}, "x", nil); return err }, datadog.ErrBadRequest, 400},
		{"403 on delete is unauthorized", ddsim.Fault{Method: "DELETE", PathPrefix: "/api/v2/current_user/application_keys", Status: 403},
			func() error { return o.client.DeleteAppKey(ctx, cr, datadog.KeyOwner{}, "some-id") }, datadog.ErrUnauthorized, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o.sim.AddFault(tt.fault)
			t.Cleanup(o.sim.ClearFaults)
			err := tt.call()
			var ae *datadog.APIError
			if !errors.Is(err, tt.want) || !errors.As(err, &ae) || ae.Status != tt.wantStatus {
				t.Fatalf("err = %v, want %v with status %d", err, tt.want, tt.wantStatus)
			}
		})
	}
}

func TestForbiddenCarriesDatadogMessage(t *testing.T) {
	o := newOrg(t, datadog.Retry{})
	// A key scoped without user_access_read may not list users.
	cr := o.creds(t, o.userID, []string{"user_app_keys"})
	_, err := o.client.ListServiceAccounts(context.Background(), cr)
	var ae *datadog.APIError
	if !errors.As(err, &ae) || !errors.Is(err, datadog.ErrUnauthorized) || ae.Status != 403 {
		t.Fatalf("err = %v, want a 403 APIError", err)
	}
	if len(ae.Messages) == 0 || ae.Op == "" {
		t.Fatalf("APIError = %+v, want Datadog's messages and the operation", ae)
	}
}

func TestRetryRecoversFromOne5xx(t *testing.T) {
	if testing.Short() {
		t.Skip("the client's retry waits at least 2 s")
	}
	o := newOrg(t, datadog.Retry{Enabled: true, MaxRetries: 1, Timeout: 10 * time.Second})
	cr := o.creds(t, o.userID, nil)
	o.sim.AddFault(ddsim.Fault{Method: "GET", PathPrefix: "/api/v2/validate_keys", Status: 502, Count: 1})
	before := o.sim.APIRequests()
	if err := o.client.ValidateKeys(context.Background(), cr); err != nil {
		t.Fatalf("ValidateKeys after one 502 = %v, want success on retry", err)
	}
	if n := o.sim.APIRequests() - before; n != 2 {
		t.Fatalf("%d requests, want 2 (one failure, one retry)", n)
	}
}

func TestTransportFailureIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c := datadog.New(datadog.Options{BaseURL: srv.URL})
	err := c.ValidateAPIKey(context.Background(), datadog.Credentials{Site: us5, APIKey: strings.Repeat("a", 32)})
	var ae *datadog.APIError
	if !errors.Is(err, datadog.ErrUnavailable) || !errors.As(err, &ae) || ae.Status != 0 {
		t.Fatalf("err = %v, want ErrUnavailable with no status", err)
	}
}

// TestErrorsNeverEchoKeys uses a server that puts the caller's keys in its
// error body, which Datadog never does, to prove the adapter scrubs them.
func TestErrorsNeverEchoKeys(t *testing.T) {
	cr := datadog.Credentials{Site: us5, APIKey: strings.Repeat("c", 32), AppKey: strings.Repeat("d", 40)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"errors":["bad key %s", {"title":"bad", "detail":"app %s"}]}`,
			r.Header.Get("Dd-Api-Key"), r.Header.Get("Dd-Application-Key"))
	}))
	defer srv.Close()
	c := datadog.New(datadog.Options{BaseURL: srv.URL})
	_, err := c.CurrentUser(context.Background(), cr)
	if !errors.Is(err, datadog.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	msg := err.Error()
	testkit.AssertNoKeyMaterial(t, msg, cr.APIKey, cr.AppKey)
	if !strings.Contains(msg, logging.Redacted) {
		t.Fatalf("error text lost the messages: %s", msg)
	}
}

// TestRedirectsAreNeverFollowed points the client at a server that
// redirects every request to a second server, which records what reaches
// it: the keys must never travel there, and the 3xx is an error naming its
// status.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	cr := datadog.Credentials{Site: us5, APIKey: strings.Repeat("c", 32), AppKey: strings.Repeat("d", 40)}
	var reached []http.Header
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"valid":true}`)
	}))
	defer other.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.RequestURI(), status)
			}))
			defer srv.Close()
			for _, c := range []*datadog.Client{
				datadog.New(datadog.Options{BaseURL: srv.URL}),
				datadog.New(datadog.Options{BaseURL: srv.URL, HTTPClient: &http.Client{}}),
			} {
				err := c.ValidateAPIKey(context.Background(), cr)
				var ae *datadog.APIError
				if !errors.Is(err, datadog.ErrUnavailable) || !errors.As(err, &ae) || ae.Status != status {
					t.Fatalf("err = %v, want ErrUnavailable with status %d", err, status)
				}
				if !strings.Contains(err.Error(), strconv.Itoa(status)) {
					t.Errorf("error %q does not name the status", err)
				}
				if _, err := c.CurrentUser(context.Background(), cr); !errors.Is(err, datadog.ErrUnavailable) {
					t.Fatalf("CurrentUser err = %v, want ErrUnavailable", err)
				}
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reached) > 0 {
		t.Fatalf("%d requests followed a redirect to another host", len(reached))
	}
}

// TestSiteRouting checks that without a base URL each call goes to the
// credentials' own site, with the keys in headers only.
func TestSiteRouting(t *testing.T) {
	var got *http.Request
	c := datadog.New(datadog.Options{HTTPClient: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"valid":true}`)), Request: r}, nil
	})}})
	for _, s := range site.All() {
		t.Run(s.Name, func(t *testing.T) {
			cr := datadog.Credentials{Site: s, APIKey: strings.Repeat("e", 32)}
			if err := c.ValidateAPIKey(context.Background(), cr); err != nil {
				t.Fatal(err)
			}
			if got.URL.Scheme != "https" || got.URL.Host != s.APIHost() || got.URL.Path != "/api/v1/validate" {
				t.Fatalf("request went to %s", got.URL)
			}
			testkit.AssertNoKeyMaterial(t, got.URL.String(), cr.APIKey)
			if got.Header.Get("Dd-Api-Key") != cr.APIKey {
				t.Fatal("the API key must travel in its header")
			}
		})
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBadBaseURLFailsEveryCall(t *testing.T) {
	for _, base := range []string{"127.0.0.1:4580", "ftp://x", "http://x/path", "http://user@x"} {
		t.Run(base, func(t *testing.T) {
			c := datadog.New(datadog.Options{BaseURL: base})
			if err := c.ValidateAPIKey(context.Background(), datadog.Credentials{Site: us5}); err == nil {
				t.Fatal("want an error for an unusable base URL")
			}
		})
	}
}

func TestCredentialsNeverFormatKeys(t *testing.T) {
	cr := datadog.Credentials{Site: us5, APIKey: strings.Repeat("f", 32), AppKey: strings.Repeat("9", 40)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "creds", cr)
	outputs := []string{
		fmt.Sprint(cr), fmt.Sprintf("%v %+v %#v %s %q", cr, cr, cr, cr, cr), cr.String(), buf.String(),
		fmt.Sprintf("%v", []datadog.Credentials{cr}), fmt.Sprintf("%+v", struct{ C datadog.Credentials }{cr}),
	}
	for _, out := range outputs {
		testkit.AssertNoKeyMaterial(t, out, cr.APIKey, cr.AppKey)
		if !strings.Contains(out, "US5") {
			t.Fatalf("formatted credentials should name the site: %s", out)
		}
	}
}
