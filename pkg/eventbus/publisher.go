package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/ddconn/ddconn/pkg/awsconfig"
)

// DefaultSource is the source of ddconn's events.
const DefaultSource = "ddconn"

// Options configures a Publisher.
type Options struct {
	// Bus is the event bus's name or ARN; required.
	Bus string
	// Source is the source of every event; "" means DefaultSource.
	Source string
	// Endpoint overrides the service endpoint (the local stand-in in dev and
	// tests); "" lets the SDK resolve it, which honours
	// AWS_ENDPOINT_URL_EVENTBRIDGE.
	Endpoint string
	// Region overrides the SDK's region resolution (AWS_REGION, profile).
	Region string
	// StaticCredentials uses fixed dummy credentials instead of the SDK's
	// credential chain: for the stand-in, which accepts any signature.
	StaticCredentials bool
	// MaxAttempts is the standard retryer's attempts per call; 0 means the
	// SDK default (3).
	MaxAttempts int
	// MaxBackoff caps the standard retryer's delay between attempts; 0
	// means the SDK default (20 s). Tests shorten it.
	MaxBackoff time.Duration
	// HTTPClient carries the requests; nil means the SDK's client.
	HTTPClient *http.Client
}

// putEventsAPI is the part of the EventBridge client a Publisher uses.
type putEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher puts ddconn's events on one bus. It is safe for concurrent use.
type Publisher struct {
	api    putEventsAPI
	bus    string
	source string
}

// New loads the AWS configuration once and builds the EventBridge client.
// An empty Options.Bus (a deployment without a bus) gives a nil Publisher,
// which publishes nothing. New fails when the bus is malformed or no
// region resolves.
func New(ctx context.Context, opts Options) (*Publisher, error) {
	if opts.Bus == "" {
		return nil, nil
	}
	if err := checkBus(opts.Bus); err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load(ctx, awsconfig.Options{
		Region:            opts.Region,
		StaticCredentials: opts.StaticCredentials,
		MaxAttempts:       opts.MaxAttempts,
		MaxBackoff:        opts.MaxBackoff,
		Endpoint:          opts.Endpoint,
		HTTPClient:        opts.HTTPClient,
	})
	if err != nil {
		return nil, fmt.Errorf("eventbus: %w", err)
	}
	return NewFromConfig(cfg, opts)
}

// NewFromConfig builds a Publisher on an AWS configuration the caller
// loaded itself (the ddconn CLI loads the standard credential chain:
// profiles, SSO). Of opts, it uses Bus, Source and Endpoint; an empty Bus
// gives a nil Publisher, as for New.
func NewFromConfig(cfg aws.Config, opts Options) (*Publisher, error) {
	if opts.Bus == "" {
		return nil, nil
	}
	if err := checkBus(opts.Bus); err != nil {
		return nil, err
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(opts.Endpoint)
	}
	source := opts.Source
	if source == "" {
		source = DefaultSource
	}
	return &Publisher{api: eventbridge.NewFromConfig(cfg), bus: opts.Bus, source: source}, nil
}

// Bus returns the bus name or ARN the Publisher puts events on.
func (p *Publisher) Bus() string {
	if p == nil {
		return ""
	}
	return p.bus
}

// Publish puts one event on the bus and returns its event id. detail is
// marshalled with encoding/json and must be a JSON object; resources are
// ARNs the event concerns (may be empty). Errors wrap ErrRejected or
// ErrUnavailable; an entry EventBridge refused is also an *EntryError.
//
// The SDK retries throttling, server errors and network failures. A
// network failure after EventBridge accepted the event makes that retry a
// duplicate with another id, so consumers must tolerate duplicates.
//
// A nil *Publisher publishes nothing and returns "", nil: what a function
// deployed without a bus is given.
func (p *Publisher) Publish(ctx context.Context, detailType string, detail any, resources ...string) (string, error) {
	if p == nil {
		return "", nil
	}
	id, err := p.publish(ctx, detailType, detail, resources)
	if err != nil {
		return "", fmt.Errorf("publishing %q to bus %s: %w", detailType, p.bus, err)
	}
	return id, nil
}

func (p *Publisher) publish(ctx context.Context, detailType string, detail any, resources []string) (string, error) {
	body, err := json.Marshal(detail)
	if err != nil {
		return "", fmt.Errorf("%w: marshalling the detail: %w", ErrRejected, err)
	}
	if err := checkEntry(p.source, detailType, body, resources); err != nil {
		return "", err
	}
	out, err := p.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(p.source),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(body)),
		Resources:    resources,
	}}})
	if err != nil {
		return "", classify(err)
	}
	return eventID(out)
}

// eventID reads the one result entry: PutEvents answers 200 even when the
// entry failed.
func eventID(out *eventbridge.PutEventsOutput) (string, error) {
	if len(out.Entries) != 1 {
		return "", fmt.Errorf("%w: PutEvents answered %d result entries for 1 entry", ErrUnavailable, len(out.Entries))
	}
	e := out.Entries[0]
	if code := aws.ToString(e.ErrorCode); code != "" || out.FailedEntryCount > 0 {
		if code == "" {
			code = "Unknown"
		}
		return "", &EntryError{Code: code, Message: aws.ToString(e.ErrorMessage)}
	}
	id := aws.ToString(e.EventId)
	if id == "" {
		return "", fmt.Errorf("%w: PutEvents answered no event id", ErrUnavailable)
	}
	return id, nil
}
