package eventbus_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/pkg/eventbus"
)

// standIn is a busemu Bus behind a real HTTP server, with a client that
// counts the requests sent to it.
type standIn struct {
	bus      *busemu.Bus
	url      string
	client   *http.Client
	requests atomic.Int32
}

func newStandIn(t *testing.T, opts busemu.Options) *standIn {
	t.Helper()
	if opts.Buses == nil {
		opts.Buses = []string{"ddconn"}
	}
	b, err := busemu.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(func() {
		srv.Close()
		_ = b.Close()
	})
	s := &standIn{bus: b, url: srv.URL}
	s.client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		s.requests.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	return s
}

// publisher returns a Publisher on bus "ddconn" of s; edit adjusts the options.
func (s *standIn) publisher(t *testing.T, edit func(*eventbus.Options)) *eventbus.Publisher {
	t.Helper()
	opts := eventbus.Options{
		Bus: "ddconn", Endpoint: s.url, Region: "us-east-1", StaticCredentials: true,
		MaxAttempts: 3, MaxBackoff: time.Millisecond, HTTPClient: s.client,
	}
	if edit != nil {
		edit(&opts)
	}
	p, err := eventbus.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// created is the detail of the tests' events.
type created struct {
	Name string `json:"name"`
	Site string `json:"site"`
}
