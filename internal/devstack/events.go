package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/kmsemu"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

// Names of the local EventBridge set-up: the bus the functions publish to
// and the rule that hands requests to the create function, as template.yaml
// deploys them.
const (
	eventBus             = busemu.DefaultBus
	provisioningRuleName = "ddconn-provisioning-requests"
	// DevEventsPath is the API path that delivers and lists events.
	DevEventsPath = "/_dev/events"
)

// defaultEventRetryDelays are the waits before the two retries of a failed
// delivery to the create function (Lambda's asynchronous retries, which on
// AWS wait about one and two minutes).
var defaultEventRetryDelays = []time.Duration{time.Second, 2 * time.Second}

// maxDevEventBytes bounds a POST /_dev/events body (EventBridge's entry limit).
const maxDevEventBytes = 256 << 10

// buildEvents creates the bus, the publisher every function is given, and
// the rule that delivers requests to the provisioning processor.
func (st *Stack) buildEvents(ctx context.Context, opts Options) error {
	bus, err := busemu.New(busemu.Options{Region: opts.Region, Now: opts.Now, Logger: opts.Emulator.Logger, RetryDelays: opts.EventRetryDelays})
	if err != nil {
		return fmt.Errorf("devstack: starting the EventBridge stand-in: %w", err)
	}
	st.Bus = bus
	// The bus shares the Secrets Manager emulator's port (see awsEndpoint),
	// as one local "AWS endpoint".
	st.Events, err = eventbus.New(ctx, eventbus.Options{
		Bus: eventBus, Endpoint: st.SecretsManagerURL, Region: opts.Region, StaticCredentials: true,
	})
	if err != nil {
		return fmt.Errorf("devstack: building the event publisher: %w", err)
	}
	return nil
}

// routeRequests hands provisioning requests on the bus to the processor,
// decoded as Lambda decodes the create function's event.
func (st *Stack) routeRequests() error {
	return st.Bus.AddRule(busemu.Rule{
		Name: provisioningRuleName, Bus: eventBus,
		Sources: []string{provisioning.RequestSource}, DetailTypes: provisioning.RequestTypes,
		Target: busemu.TargetFunc(func(ctx context.Context, payload []byte) error {
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return fmt.Errorf("decoding the EventBridge event: %w", err)
			}
			return st.Provisioning.Handle(ctx, ev)
		}),
	})
}

// awsEndpoint serves the AWS JSON protocols of the local services on one
// port: EventBridge calls (X-Amz-Target AWSEvents.*) go to the bus, KMS
// calls (TrentService.*) to the KMS emulator, the rest to the Secrets
// Manager emulator.
func awsEndpoint(sm, bus, kms http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasPrefix(target, "AWSEvents."):
			bus.ServeHTTP(w, r)
		case strings.HasPrefix(target, kmsemu.TargetPrefix):
			kms.ServeHTTP(w, r)
		default:
			sm.ServeHTTP(w, r)
		}
	})
}

// withDevEvents adds /_dev/events to the API:
//
//	POST delivers an EventBridge event (a full envelope, or just source,
//	     detail-type and detail) as EventBridge would - through the rule,
//	     with Lambda's retries - waits until it has been handled, and answers
//	     {"id", "outcomes"}: what ddconn published about it.
//	GET  lists what ddconn published (source "ddconn"), oldest first;
//	     ?requestId= keeps the outcomes of one request.
//
// Every other path reaches the API exactly as sent: a ServeMux in front of
// it would answer paths it cleans ("/connections/../x") with its own
// redirect before the API could refuse them.
func (st *Stack) withDevEvents(api http.Handler) http.Handler {
	dev := http.NewServeMux()
	dev.HandleFunc("POST "+DevEventsPath, st.postDevEvent)
	dev.HandleFunc("GET "+DevEventsPath, st.listDevEvents)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == DevEventsPath {
			dev.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// devEventsAnswer is the body of both /_dev/events answers.
type devEventsAnswer struct {
	ID       string          `json:"id,omitempty"`
	Outcomes []busemu.Event  `json:"outcomes"`
	Error    *devEventsError `json:"error,omitempty"`
}

type devEventsError struct {
	Message string `json:"message"`
}

func (st *Stack) postDevEvent(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDevEventBytes))
	if err != nil {
		writeDevEvents(w, http.StatusRequestEntityTooLarge, devEventsAnswer{Error: &devEventsError{
			Message: fmt.Sprintf("the event is larger than %d bytes", maxDevEventBytes)}})
		return
	}
	id, err := st.Bus.Inject(r.Context(), body)
	if err != nil {
		writeDevEvents(w, http.StatusBadRequest, devEventsAnswer{Error: &devEventsError{
			Message: err.Error() + `; send {"source":"ddconn.requests","detail-type":"…","detail":{…}}`}})
		return
	}
	if err := st.Bus.Idle(r.Context()); err != nil && !errors.Is(err, context.Canceled) {
		writeDevEvents(w, http.StatusGatewayTimeout, devEventsAnswer{ID: id, Error: &devEventsError{Message: err.Error()}})
		return
	}
	writeDevEvents(w, http.StatusOK, devEventsAnswer{ID: id, Outcomes: st.outcomes(id)})
}

func (st *Stack) listDevEvents(w http.ResponseWriter, r *http.Request) {
	writeDevEvents(w, http.StatusOK, devEventsAnswer{Outcomes: st.outcomes(r.URL.Query().Get("requestId"))})
}

// outcomes returns the events ddconn published, those about requestID only
// when it is set.
func (st *Stack) outcomes(requestID string) []busemu.Event {
	out := []busemu.Event{}
	for _, ev := range st.Bus.EventsOf(provisioning.OutcomeSource, "") {
		var d struct {
			RequestID string `json:"requestId"`
		}
		if requestID == "" || json.Unmarshal(ev.Detail, &d) == nil && d.RequestID == requestID {
			out = append(out, ev)
		}
	}
	return out
}

func writeDevEvents(w http.ResponseWriter, status int, a devEventsAnswer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(a)
}
