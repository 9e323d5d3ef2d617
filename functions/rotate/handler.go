package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

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
}

// handler dispatches an invocation by the shape of its event.
type handler struct {
	rot   stepHandler
	sweep sweepRunner
	log   *slog.Logger
}

func newHandler(rot stepHandler, sweep sweepRunner, log *slog.Logger) handler {
	return handler{rot: rot, sweep: sweep, log: log}
}

// shape holds the fields that tell the two events apart: a rotation event
// has a Step; an EventBridge schedule has detail-type "Scheduled Event" and
// source "aws.events".
type shape struct {
	Step       string `json:"Step"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
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
		_, err := h.sweep.Run(ctx)
		return err
	}
	h.log.ErrorContext(ctx, "unknown event", slog.String("detail_type", s.DetailType), slog.String("source", s.Source))
	return errUnknownEvent
}

func (h handler) rotate(ctx context.Context, raw json.RawMessage) error {
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
