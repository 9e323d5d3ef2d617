package eventbus_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/awsconfig"
	"github.com/ddconn/ddconn/pkg/eventbus"
)

func TestNewChecksTheBus(t *testing.T) {
	tests := []struct {
		name    string
		bus     string
		wantErr bool
	}{
		{name: "none: publishing off", bus: ""},
		{name: "name", bus: "ddconn-events_1.x"},
		{name: "ARN", bus: "arn:aws:events:eu-west-1:123456789012:event-bus/ddconn"},
		{name: "name with a space", bus: "dd conn", wantErr: true},
		{name: "name with a slash", bus: "a/b", wantErr: true},
		{name: "ARN of a rule", bus: "arn:aws:events:eu-west-1:123456789012:rule/ddconn", wantErr: true},
		{name: "ARN with a short account", bus: "arn:aws:events:eu-west-1:1234:event-bus/ddconn", wantErr: true},
		{name: "ARN of another service", bus: "arn:aws:sqs:eu-west-1:123456789012:event-bus/ddconn", wantErr: true},
		{name: "too long", bus: strings.Repeat("a", 1601), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := eventbus.New(context.Background(), eventbus.Options{Bus: tt.bus, Region: "us-east-1", StaticCredentials: true})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tt.bus, err, tt.wantErr)
			}
			if err == nil && (p == nil) != (tt.bus == "") {
				t.Fatalf("New(%q) = %v: want a nil Publisher exactly when there is no bus", tt.bus, p)
			}
		})
	}
}

func TestNewNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	_, err := eventbus.New(context.Background(), eventbus.Options{Bus: "ddconn", StaticCredentials: true})
	if !errors.Is(err, awsconfig.ErrNoRegion) {
		t.Fatalf("New() error = %v, want ErrNoRegion", err)
	}
}

// TestEndpointFromEnvironment: with no Options.Endpoint the SDK resolves
// the endpoint, which is how the functions reach the stand-in in dev.
func TestEndpointFromEnvironment(t *testing.T) {
	s := newStandIn(t, busemu.Options{})
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", s.url)
	p := s.publisher(t, func(o *eventbus.Options) { o.Endpoint = "" })
	if _, err := p.Publish(ctxT(t), "Connection Created", created{}); err != nil {
		t.Fatal(err)
	}
	if len(s.bus.Events()) != 1 {
		t.Fatal("the event did not reach the endpoint named by AWS_ENDPOINT_URL_EVENTBRIDGE")
	}
}

// TestCustomHTTPClientWithCABundle: tests and dev pass their own
// *http.Client; that must work where AWS_CA_BUNDLE is set, as it is on
// many build machines (and this one).
func TestCustomHTTPClientWithCABundle(t *testing.T) {
	testkit.SetAWSCABundle(t)
	s := newStandIn(t, busemu.Options{})
	p := s.publisher(t, nil)
	if _, err := p.Publish(ctxT(t), "Connection Created", created{}); err != nil {
		t.Fatalf("Publish with a custom client and AWS_CA_BUNDLE: %v", err)
	}
	if s.requests.Load() == 0 {
		t.Fatal("the custom client carried no request")
	}
}

func TestNilPublisherPublishesNothing(t *testing.T) {
	var p *eventbus.Publisher
	id, err := p.Publish(context.Background(), "Connection Created", map[string]string{"requestId": "r"})
	if id != "" || err != nil || p.Bus() != "" {
		t.Fatalf("nil publisher: id %q, err %v, bus %q", id, err, p.Bus())
	}
}
