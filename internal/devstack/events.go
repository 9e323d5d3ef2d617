package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/kmsemu"
	"github.com/ddconn/ddconn/pkg/access"
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

// devAccount is the account of the local EventBridge: its buses' and
// rules' ARNs, and so the Home of the provisioning processor.
const devAccount = "123456789012"

// teamBuses are the buses the access policy gives teams, sorted: the stack
// parameter TeamBuses of a deployment.
func teamBuses(p *access.Policy) []string {
	var out []string
	if p != nil {
		for _, t := range p.Teams {
			out = append(out, t.Buses...)
		}
	}
	slices.Sort(out)
	return out
}

// buildEvents creates the bus and the team buses, and the publisher every
// function is given.
func (st *Stack) buildEvents(ctx context.Context, opts Options) error {
	bus, err := busemu.New(busemu.Options{Region: opts.Region, Account: devAccount, Now: opts.Now, Logger: opts.Emulator.Logger,
		RetryDelays: opts.EventRetryDelays, Buses: teamBuses(opts.AccessPolicy)})
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
// decoded as Lambda decodes the create function's event, and those on each
// team bus through its rule's InputTransformer, as template.yaml deploys
// them.
func (st *Stack) routeRequests(opts Options) error {
	err := st.Bus.AddRule(busemu.Rule{
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
	home := provisioning.Home{Partition: "aws", Region: opts.Region, Account: devAccount}
	for _, bus := range teamBuses(opts.AccessPolicy) {
		if err != nil {
			break
		}
		err = st.Bus.AddRule(busemu.Rule{
			Name: provisioningRuleName, Bus: bus,
			Sources: []string{provisioning.RequestSource}, DetailTypes: provisioning.RequestTypes,
			InputTransformer: &busemu.InputTransformer{InputTemplate: provisioning.TeamBusInputTemplate},
			Target: busemu.TargetFunc(func(ctx context.Context, payload []byte) error {
				var d provisioning.BusDelivery
				if err := json.Unmarshal(payload, &d); err != nil {
					return fmt.Errorf("decoding the team bus's delivery: %w", err)
				}
				return st.Provisioning.HandleBusDelivery(ctx, home, d)
			}),
		})
	}
	return err
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
//	     {"id", "outcomes"}: what ddconn published about it. A "bus" beside
//	     the envelope's fields puts it on that team bus (one the access
//	     policy names) instead of the stack's.
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
	var id string
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDevEventBytes))
	if err != nil {
		writeDevEvents(w, http.StatusRequestEntityTooLarge, devEventsAnswer{Error: &devEventsError{
			Message: fmt.Sprintf("the event is larger than %d bytes", maxDevEventBytes)}})
		return
	}
	bus, body, err := takeBus(body)
	if err == nil {
		id, err = st.Bus.InjectOn(r.Context(), bus, body)
	}
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

// takeBus returns the bus a POST /_dev/events body names (eventBus when
// none) and the envelope without it.
func takeBus(body []byte) (string, []byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", nil, fmt.Errorf("not an event envelope: %w", err)
	}
	raw, ok := fields["bus"]
	if !ok {
		return eventBus, body, nil
	}
	var bus string
	if err := json.Unmarshal(raw, &bus); err != nil || bus == "" {
		return "", nil, errors.New(`"bus" is not the name of a bus`)
	}
	delete(fields, "bus")
	body, err := json.Marshal(fields)
	return bus, body, err
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
