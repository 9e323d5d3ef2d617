package secretstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// newStore returns a Store talking to a fresh emulator over HTTP.
func newStore(t *testing.T, opts smemu.Options) (*secretstore.Store, *smemu.Emulator) {
	t.Helper()
	em, err := smemu.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	em.Start()
	srv := httptest.NewServer(em)
	t.Cleanup(func() {
		srv.Close()
		if err := em.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := secretstore.New(context.Background(), secretstore.Options{
		Endpoint: srv.URL, Region: "us-east-1", StaticCredentials: true, MaxAttempts: 2, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, em
}

func TestSecretLifecycle(t *testing.T) {
	s, _ := newStore(t, smemu.Options{})
	ctx := context.Background()
	created, err := s.Create(ctx, secretstore.CreateInput{
		Name: "app/one", Description: "first", Value: `{"v":1}`, Tags: map[string]string{"team": "a", "env": "dev"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "app/one" || !strings.HasPrefix(created.ARN, "arn:aws:secretsmanager:us-east-1:") {
		t.Fatalf("created = %+v", created)
	}

	sec, err := s.Describe(ctx, "app/one")
	if err != nil {
		t.Fatal(err)
	}
	first, ok := sec.CurrentVersion()
	if sec.ARN != created.ARN || sec.Description != "first" || sec.Tags["team"] != "a" || sec.CreatedAt.IsZero() || !ok {
		t.Fatalf("described = %+v", sec)
	}

	// A default Put moves AWSCURRENT and leaves AWSPREVIOUS behind.
	second, err := s.Put(ctx, sec.ARN, "", `{"v":2}`, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.Get(ctx, "app/one", "", "")
	if err != nil {
		t.Fatal(err)
	}
	prev, err := s.Get(ctx, "app/one", "", secretstore.Previous)
	if err != nil {
		t.Fatal(err)
	}
	if cur.ID != second || cur.Value != `{"v":2}` || !slices.Contains(cur.Stages, secretstore.Current) || prev.ID != first || prev.Value != `{"v":1}` {
		t.Fatalf("current %+v previous %+v", cur, prev)
	}

	// A staged Put leaves AWSCURRENT alone; MoveStage promotes it.
	token := "00000000-0000-4000-8000-000000000001"
	pending, err := s.Put(ctx, sec.ARN, token, `{"v":3}`, []string{secretstore.Pending}, "")
	if err != nil || pending != token {
		t.Fatalf("staged put = %q, %v", pending, err)
	}
	if v, _ := s.Get(ctx, sec.ARN, "", ""); v.ID != second {
		t.Fatal("a staged put must not move AWSCURRENT")
	}
	if err := s.MoveStage(ctx, sec.ARN, secretstore.Current, token, second); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveStage(ctx, sec.ARN, secretstore.Pending, "", token); err != nil {
		t.Fatal(err)
	}
	sec, _ = s.Describe(ctx, sec.ARN)
	if id, _ := sec.CurrentVersion(); id != token {
		t.Fatalf("versions after promotion = %v", sec.Versions)
	}
	if _, ok := sec.VersionWith(secretstore.Pending); ok {
		t.Fatalf("AWSPENDING should be gone: %v", sec.Versions)
	}

	if err := s.SetDescription(ctx, sec.ARN, "second"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, sec.ARN, map[string]string{"env": "prod", "new": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag(ctx, sec.ARN, []string{"team", "absent"}); err != nil {
		t.Fatal(err)
	}
	sec, _ = s.Describe(ctx, sec.ARN)
	if sec.Description != "second" || sec.Tags["env"] != "prod" || sec.Tags["new"] != "x" || sec.Tags["team"] != "" {
		t.Fatalf("after updates: %+v", sec)
	}

	when, err := s.Delete(ctx, sec.ARN, 7, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(when); d < 6*24*time.Hour || d > 8*24*time.Hour {
		t.Fatalf("deletion date %v is not about 7 days away", when)
	}
	sec, err = s.Describe(ctx, sec.ARN)
	if err != nil || sec.DeletedAt == nil {
		t.Fatalf("a secret scheduled for deletion must still describe, with DeletedAt: %+v %v", sec, err)
	}
}

func TestList(t *testing.T) {
	s, _ := newStore(t, smemu.Options{})
	ctx := context.Background()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("pre/fix/%d", i)
		want = append(want, name)
		if _, err := s.Create(ctx, secretstore.CreateInput{Name: name, Value: "v", Tags: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, secretstore.CreateInput{Name: "other/1", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := ""
	for range 10 {
		page, next, err := s.List(ctx, "pre/fix/", 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		for _, sec := range page {
			if sec.Tags["n"] == "" || sec.ARN == "" {
				t.Fatalf("listed secret lacks metadata: %+v", sec)
			}
			got = append(got, sec.Name)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}

func TestErrorsMapToSentinels(t *testing.T) {
	s, em := newStore(t, smemu.Options{})
	ctx := context.Background()
	if _, err := s.Create(ctx, secretstore.CreateInput{Name: "live", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, secretstore.CreateInput{Name: "doomed", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "doomed", 7, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		fault *smemu.Fault
		call  func() error
		want  error
	}{
		{"absent secret", nil, func() error { _, err := s.Describe(ctx, "absent"); return err }, secretstore.ErrNotFound},
		{"absent stage", nil, func() error { _, err := s.Get(ctx, "live", "", secretstore.Pending); return err }, secretstore.ErrNotFound},
		{"name taken", nil, func() error {
			_, err := s.Create(ctx, secretstore.CreateInput{Name: "live", Value: "v"})
			return err
		}, secretstore.ErrExists},
		{"create on a name scheduled for deletion", nil, func() error {
			_, err := s.Create(ctx, secretstore.CreateInput{Name: "doomed", Value: "v"})
			return err
		}, secretstore.ErrPendingDeletion},
		{"read a secret scheduled for deletion", nil, func() error { _, err := s.Get(ctx, "doomed", "", ""); return err }, secretstore.ErrPendingDeletion},
		{"tag a secret scheduled for deletion", nil, func() error { return s.Tag(ctx, "doomed", map[string]string{"a": "b"}) }, secretstore.ErrPendingDeletion},
		{"recovery window out of range", nil, func() error { _, err := s.Delete(ctx, "live", 3, false); return err }, secretstore.ErrInvalid},
		{"bad cursor", nil, func() error { _, _, err := s.List(ctx, "x", 10, "garbage"); return err }, secretstore.ErrInvalid},
		{"throttled after retries", &smemu.Fault{Operation: "DescribeSecret", Error: "ThrottlingException", Count: 5},
			func() error { _, err := s.Describe(ctx, "live"); return err }, secretstore.ErrThrottled},
		{"server error after retries", &smemu.Fault{Operation: "GetSecretValue", Error: "InternalServiceError", Count: 5},
			func() error { _, err := s.Get(ctx, "live", "", ""); return err }, secretstore.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				em.AddFault(*tt.fault)
				t.Cleanup(em.ClearFaults)
			}
			err := tt.call()
			var se *secretstore.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOneThrottleIsRetried(t *testing.T) {
	s, em := newStore(t, smemu.Options{})
	ctx := context.Background()
	if _, err := s.Create(ctx, secretstore.CreateInput{Name: "x", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	em.AddFault(smemu.Fault{Operation: "DescribeSecret", Error: "ThrottlingException", Count: 1})
	if _, err := s.Describe(ctx, "x"); err != nil {
		t.Fatalf("the standard retryer should absorb one throttle: %v", err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	s, err := secretstore.New(context.Background(), secretstore.Options{Endpoint: srv.URL, Region: "us-east-1", StaticCredentials: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Describe(context.Background(), "x"); !errors.Is(err, secretstore.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestRotation(t *testing.T) {
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
	failing := smemu.InvokerFunc(func(context.Context, string, []byte) error { return errors.New("rotation step failed") })
	s, _ := newStore(t, smemu.Options{Invoker: smemu.Router{Routes: map[string]smemu.Invoker{arn: failing}}, RetryInterval: time.Hour})
	ctx := context.Background()
	sec, err := s.Create(ctx, secretstore.CreateInput{Name: "rot", Value: "v"})
	if err != nil {
		t.Fatal(err)
	}
	immediately := true
	version, err := s.Rotate(ctx, sec.ARN, secretstore.RotateInput{LambdaARN: arn, Rules: &secretstore.RotationRules{AutomaticallyAfterDays: 30}, RotateImmediately: &immediately})
	if err != nil || version == "" {
		t.Fatalf("Rotate = %q, %v", version, err)
	}
	d, err := s.Describe(ctx, sec.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if !d.RotationEnabled || d.RotationLambdaARN != arn || d.Rules.AutomaticallyAfterDays != 30 {
		t.Fatalf("rotation settings = %+v", d)
	}
	if id, ok := d.VersionWith(secretstore.Pending); !ok || id != version {
		t.Fatalf("AWSPENDING should be on %s: %v", version, d.Versions)
	}
	// AWSPENDING sits on a version that is not AWSCURRENT (the failing
	// function never finishes), whether or not the worker has run yet.
	if _, err := s.Rotate(ctx, sec.ARN, secretstore.RotateInput{}); !errors.Is(err, secretstore.ErrRotationInProgress) {
		t.Fatalf("second Rotate = %v, want ErrRotationInProgress", err)
	}
	cancelled, err := s.CancelRotation(ctx, sec.ARN)
	if err != nil || cancelled != version {
		t.Fatalf("CancelRotation = %q, %v; want %s", cancelled, err, version)
	}
	if d, _ := s.Describe(ctx, sec.ARN); d.RotationEnabled {
		t.Fatal("rotation still enabled after CancelRotation")
	}
}

func TestNewNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	if _, err := secretstore.New(context.Background(), secretstore.Options{StaticCredentials: true}); err == nil {
		t.Fatal("New without a region must fail")
	}
}

// TestCustomHTTPClientWithCABundle: tests and dev pass their own *http.Client
// (to record or fault calls); that must work where AWS_CA_BUNDLE is set, as it
// is on many build machines.
func TestCustomHTTPClientWithCABundle(t *testing.T) {
	testkit.SetAWSCABundle(t)
	em, err := smemu.New(smemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	defer srv.Close()
	var calls int
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return http.DefaultTransport.RoundTrip(r)
	})}
	s, err := secretstore.New(context.Background(), secretstore.Options{
		Endpoint: srv.URL, Region: "us-east-1", StaticCredentials: true, HTTPClient: client,
	})
	if err != nil {
		t.Fatalf("New with a custom client and AWS_CA_BUNDLE: %v", err)
	}
	if _, err := s.Create(context.Background(), secretstore.CreateInput{Name: "ca/bundle", Value: `{"a":1}`}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("the custom client carried no request")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestEndpointFromEnvironment: without Options.Endpoint, the client goes
// where AWS_ENDPOINT_URL_SECRETS_MANAGER says (how e2e points the shipped
// binaries at the emulator).
func TestEndpointFromEnvironment(t *testing.T) {
	var target atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.Store(r.Header.Get("X-Amz-Target"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL", "")
	store, err := secretstore.New(context.Background(), secretstore.Options{Region: "us-east-1", StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Describe(context.Background(), "nowhere"); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("Describe() error = %v, want ErrNotFound from the server", err)
	}
	if got, _ := target.Load().(string); got != "secretsmanager.DescribeSecret" {
		t.Fatalf("the server saw target %q", got)
	}
}

// TestListIncludingDeletedByName: pages in name order, whatever the order
// of creation, secrets scheduled for deletion included.
func TestListIncludingDeletedByName(t *testing.T) {
	s, _ := newStore(t, smemu.Options{})
	ctx := context.Background()
	for _, name := range []string{"pre/c", "pre/keys/a/2", "pre/a", "pre/keys/a/1", "pre/b"} {
		if _, err := s.Create(ctx, secretstore.CreateInput{Name: name, Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, "pre/b", 7, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for cursor := ""; ; {
		page, next, err := s.ListIncludingDeletedByName(ctx, "pre/", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range page {
			got = append(got, sec.Name)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"pre/a", "pre/b", "pre/c", "pre/keys/a/1", "pre/keys/a/2"}; !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
}
