package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// errUnknownEvent is returned for an event that is neither a rotation step
// nor a scheduled sweep, so a misrouted trigger fails loudly.
var errUnknownEvent = errors.New("event is neither a Secrets Manager rotation step nor a scheduled event")

type stepHandler interface {
	Handle(ctx context.Context, ev rotation.Event) error
}

type sweepRunner interface {
	Run(ctx context.Context) (sweeper.Report, error)
	RunPage(ctx context.Context, pg sweeper.PageRequest) (sweeper.Report, error)
	FanOut(ctx context.Context, pub sweeper.Publisher) (int, error)
}

// handler dispatches an invocation by the shape of its event.
type handler struct {
	rot   stepHandler
	sweep sweepRunner
	log   *slog.Logger
	// pages, when set, receives the schedule's sweep as one event per page
	// of secrets (sweeper.FanOut); nil sweeps everything in the scheduled
	// invocation itself.
	pages sweeper.Publisher
}

func newHandler(rot stepHandler, sweep sweepRunner, log *slog.Logger) handler {
	return handler{rot: rot, sweep: sweep, log: log}
}

// fanningOut returns h with the schedule's sweep fanned out through pub.
func (h handler) fanningOut(pub sweeper.Publisher) handler {
	h.pages = pub
	return h
}

// shape holds the fields that tell the events apart: a rotation event has
// a Step; an EventBridge schedule has detail-type "Scheduled Event" and
// source "aws.events"; a page of a fanned-out sweep detail-type
// sweeper.PageDetailType and source ddconn's.
type shape struct {
	Step       string          `json:"Step"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// Handle runs a rotation step or a sweep. Its error fails the invocation:
// Secrets Manager then retries the rotation, and Lambda the scheduled sweep.
func (h handler) Handle(ctx context.Context, raw json.RawMessage) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ctx = logging.WithRequestID(ctx, lc.AwsRequestID)
	}
	var s shape
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decoding the event: %w", err)
	}
	switch {
	case s.Step != "":
		return h.rotate(ctx, raw)
	case s.DetailType == "Scheduled Event" && s.Source == "aws.events":
		if h.pages != nil {
			_, err := h.sweep.FanOut(ctx, h.pages)
			return err
		}
		_, err := h.sweep.Run(ctx)
		return err
	case s.DetailType == sweeper.PageDetailType && s.Source == eventbus.DefaultSource:
		var page sweeper.PageRequest
		if err := json.Unmarshal(s.Detail, &page); err != nil {
			return fmt.Errorf("decoding the sweep page: %w", err)
		}
		_, err := h.sweep.RunPage(ctx, page)
		return err
	}
	h.log.ErrorContext(ctx, "unknown event", slog.String("detail_type", s.DetailType), slog.String("source", s.Source))
	return errUnknownEvent
}

// stepMargin is how long before the invocation's deadline a rotation
// step is cut short: it then fails with its own error (recorded on the
// secret, counted, published) and Secrets Manager retries the rotation,
// instead of Lambda killing the function silently at the timeout, for
// example while the Datadog client waits out rate limits.
const stepMargin = 10 * time.Second

func (h handler) rotate(ctx context.Context, raw json.RawMessage) error {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-stepMargin))
		defer cancel()
	}
	var ev events.SecretsManagerSecretRotationEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decoding the rotation event: %w", err)
	}
	return h.rot.Handle(ctx, rotation.Event{
		Step:               ev.Step,
		SecretID:           ev.SecretID,
		ClientRequestToken: ev.ClientRequestToken,
		RotationToken:      ev.RotationToken,
	})
}
