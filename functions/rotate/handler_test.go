package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

type fakeSweeper struct {
	runs    int
	pages   []sweeper.PageRequest // what RunPage was given
	fanOuts int
	err     error
}

func (f *fakeSweeper) Run(context.Context) (sweeper.Report, error) {
	f.runs++
	return sweeper.Report{}, f.err
}

func (f *fakeSweeper) RunPage(_ context.Context, pg sweeper.PageRequest) (sweeper.Report, error) {
	f.pages = append(f.pages, pg)
	return sweeper.Report{}, f.err
}

func (f *fakeSweeper) FanOut(context.Context, sweeper.Publisher) (int, error) {
	f.fanOuts++
	return 1, f.err
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, any, ...string) (string, error) { return "", nil }

// TestSweepFanOut: with a bus, the schedule fans the sweep out, and each
// "Sweep Page" event from ddconn sweeps its page.
func TestSweepFanOut(t *testing.T) {
	sw := &fakeSweeper{}
	h := newHandler(&testkit.Recorder[rotation.Event]{}, sw, logging.New(&bytes.Buffer{}, nil)).fanningOut(nopPublisher{})
	if err := h.Handle(context.Background(), testkit.Event(testkit.ScheduledEvent)); err != nil {
		t.Fatal(err)
	}
	page := []byte(`{"version":"0","id":"e1","detail-type":"Sweep Page","source":"ddconn","account":"123456789012","time":"2026-03-01T12:00:00Z","region":"us-east-1","resources":[],"detail":{"cursor":"next-page","skip":3,"next":"page-after","take":5,"page":2,"pages":3}}`)
	if err := h.Handle(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	want := sweeper.PageRequest{Cursor: "next-page", Skip: 3, Next: "page-after", Take: 5, Page: 2, Pages: 3}
	if sw.fanOuts != 1 || sw.runs != 0 || len(sw.pages) != 1 || sw.pages[0] != want {
		t.Fatalf("fan-outs %d, runs %d, pages %+v; want 1, 0, [%+v]", sw.fanOuts, sw.runs, sw.pages, want)
	}
	foreign := []byte(`{"detail-type":"Sweep Page","source":"someone.else","detail":{"cursor":"x"}}`)
	if err := h.Handle(context.Background(), foreign); !errors.Is(err, errUnknownEvent) {
		t.Fatalf("a Sweep Page from another source: err = %v, want errUnknownEvent", err)
	}
}

func TestDispatchByEventShape(t *testing.T) {
	failure := errors.New("step failed")
	tests := []struct {
		name      string
		fixture   testkit.EventName
		rotErr    error
		wantSteps int
		wantRuns  int
		wantErr   error
	}{
		{name: "rotation step", fixture: testkit.RotationEvent, wantSteps: 1},
		{name: "failed rotation step", fixture: testkit.RotationEvent, rotErr: failure, wantSteps: 1, wantErr: failure},
		{name: "scheduled sweep", fixture: testkit.ScheduledEvent, wantRuns: 1},
		{name: "another EventBridge event", fixture: testkit.S3Event, wantErr: errUnknownEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := testkit.Event(tt.fixture)
			rot, sw := &testkit.Recorder[rotation.Event]{Err: tt.rotErr}, &fakeSweeper{}
			var logs bytes.Buffer
			err := newHandler(rot, sw, logging.New(&logs, nil)).Handle(context.Background(), raw)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(rot.Events) != tt.wantSteps || sw.runs != tt.wantRuns {
				t.Fatalf("steps %d, sweeps %d; want %d, %d", len(rot.Events), sw.runs, tt.wantSteps, tt.wantRuns)
			}
		})
	}
}

func TestRotationEventFields(t *testing.T) {
	raw := testkit.Event(testkit.RotationEvent)
	rot := &testkit.Recorder[rotation.Event]{}
	if err := newHandler(rot, &fakeSweeper{}, logging.New(&bytes.Buffer{}, nil)).Handle(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	want := rotation.Event{
		Step:               rotationstate.StepCreate,
		SecretID:           "arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/prod-AbCdEf",
		ClientRequestToken: "3a5d6f3e-7b1c-4c8e-9f0a-1b2c3d4e5f60",
		RotationToken:      "8f1e2d3c-4b5a-4697-8877-665544332211",
	}
	if rot.Events[0] != want {
		t.Errorf("event %+v, want %+v", rot.Events[0], want)
	}
}

func TestRequestIDReachesTheLogs(t *testing.T) {
	var logs bytes.Buffer
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-123"})
	h := newHandler(&testkit.Recorder[rotation.Event]{}, &fakeSweeper{}, logging.New(&logs, nil))
	if err := h.Handle(ctx, []byte(`{"detail-type":"Object Created","source":"aws.s3"}`)); !errors.Is(err, errUnknownEvent) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(logs.String(), `"request_id":"req-123"`) {
		t.Errorf("log %s lacks the request id", logs.String())
	}
}

func TestMalformedEvent(t *testing.T) {
	h := newHandler(&testkit.Recorder[rotation.Event]{}, &fakeSweeper{}, logging.New(&bytes.Buffer{}, nil))
	if err := h.Handle(context.Background(), []byte(`[1,2]`)); err == nil {
		t.Fatal("want an error for a malformed event")
	}
}

// blockingStep waits for its context to end and returns its error.
type blockingStep struct{}

func (blockingStep) Handle(ctx context.Context, _ rotation.Event) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestStepEndsBeforeTheInvocationDeadline: a step still waiting (on
// Datadog's rate limits, say) is cut short stepMargin before Lambda's
// deadline, so it fails with its own error and Secrets Manager retries.
func TestStepEndsBeforeTheInvocationDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), stepMargin+300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := newHandler(blockingStep{}, &fakeSweeper{}, logging.New(&bytes.Buffer{}, nil)).Handle(ctx, testkit.Event(testkit.RotationEvent))
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second || ctx.Err() != nil {
		t.Fatalf("step = %v after %v (invocation context %v), want DeadlineExceeded well before the invocation's deadline", err, took, ctx.Err())
	}
}
