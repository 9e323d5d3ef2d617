package smemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// newRotationHarness is a harness whose Router sends testLambda to a
// template-style rotation function, with fast retries and ticks.
func newRotationHarness(t *testing.T, opts Options) (*harness, *templateRotator) {
	t.Helper()
	rot := newTemplateRotator()
	if opts.Invoker == nil {
		opts.Invoker = Router{Routes: map[string]Invoker{testLambda: rot}}
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = 5 * time.Millisecond
	}
	if opts.TickInterval == 0 {
		opts.TickInterval = 10 * time.Millisecond
	}
	h := newHarness(t, opts)
	rot.setClient(h.sm)
	return h, rot
}

func (h *harness) rotate(t *testing.T, id, tok string, rules *types.RotationRulesType) (*secretsmanager.RotateSecretOutput, error) {
	t.Helper()
	return h.sm.RotateSecret(ctxT(t), &secretsmanager.RotateSecretInput{
		SecretId: aws.String(id), ClientRequestToken: aws.String(tok),
		RotationLambdaARN: aws.String(testLambda), RotationRules: rules,
	})
}

func (h *harness) waitIdle(t *testing.T) {
	t.Helper()
	if err := h.emu.WaitIdle(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) describe(t *testing.T, id string) *secretsmanager.DescribeSecretOutput {
	t.Helper()
	d, err := h.sm.DescribeSecret(ctxT(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	return d
}

func createWithToken(t *testing.T, h *harness, name, tok, value string) string {
	t.Helper()
	out, err := h.sm.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String(name), ClientRequestToken: aws.String(tok), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

var fullRotation = []string{stepCreateSecret, stepSetSecret, stepTestSecret, stepFinishSecret}

func TestRotationFullCycle(t *testing.T) {
	h, rot := newRotationHarness(t, Options{})
	arn := createWithToken(t, h, "rot/full", token(1), "v1")
	before := h.emu.Clock().Now().Truncate(time.Millisecond)

	out, err := h.rotate(t, "rot/full", token(2), &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)})
	if err != nil || aws.ToString(out.VersionId) != token(2) || aws.ToString(out.ARN) != arn {
		t.Fatalf("RotateSecret = %+v, %v", out, err)
	}
	h.waitIdle(t)

	events := rot.recorded()
	if got := rot.steps(); !slices.Equal(got, fullRotation) {
		t.Fatalf("steps = %v, want %v", got, fullRotation)
	}
	for _, ev := range events {
		if ev.SecretID != arn || ev.ClientRequestToken != token(2) || ev.RotationToken != events[0].RotationToken {
			t.Fatalf("event %+v: want SecretId %s (the ARN), token %s, one RotationToken per attempt", ev, arn, token(2))
		}
	}
	if n := len(events[0].RotationToken); n < 36 || n > 64 {
		t.Fatalf("RotationToken has %d characters, want 36-64", n)
	}
	// createSecret found the AWSPENDING version without a value.
	wantAPIError(t, rot.pendingErr[0], "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSPENDING")

	if got := h.stages(t, "rot/full"); !equalStages(got, map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}) {
		t.Fatalf("stages = %v", got)
	}
	if h.currentValue(t, "rot/full") != "rotated-"+token(2) {
		t.Fatal("AWSCURRENT does not hold the rotated value")
	}
	d := h.describe(t, "rot/full")
	switch {
	case !aws.ToBool(d.RotationEnabled), aws.ToString(d.RotationLambdaARN) != testLambda,
		aws.ToInt64(d.RotationRules.AutomaticallyAfterDays) != 30,
		d.LastRotatedDate == nil || d.LastRotatedDate.Before(before),
		d.NextRotationDate == nil || d.NextRotationDate.Sub(*d.LastRotatedDate) != 30*24*time.Hour:
		t.Fatalf("DescribeSecret after rotation = %+v", d)
	}

	t.Run("a second RotateSecret reuses the stored function", func(t *testing.T) {
		_, err := h.sm.RotateSecret(ctxT(t), &secretsmanager.RotateSecretInput{SecretId: aws.String(arn), ClientRequestToken: aws.String(token(3))})
		if err != nil {
			t.Fatal(err)
		}
		h.waitIdle(t)
		if got := h.stages(t, "rot/full"); !equalStages(got, map[string][]string{token(2): {"AWSPREVIOUS"}, token(3): {"AWSCURRENT"}}) {
			t.Fatalf("stages = %v", got)
		}
	})
}

func TestRotationInProgress(t *testing.T) {
	h, rot := newRotationHarness(t, Options{})
	entered, release := rot.blockFirstCreate()
	createWithToken(t, h, "rot/busy", token(1), "v1")
	if _, err := h.rotate(t, "rot/busy", token(2), nil); err != nil {
		t.Fatal(err)
	}
	<-entered // the worker is inside createSecret; RotateSecret has returned

	if got := h.stages(t, "rot/busy"); !equalStages(got, map[string][]string{token(1): {"AWSCURRENT"}, token(2): {"AWSPENDING"}}) {
		t.Fatalf("stages while rotating = %v", got)
	}
	for name, in := range map[string]*secretsmanager.GetSecretValueInput{
		"by label": {SecretId: aws.String("rot/busy"), VersionStage: aws.String("AWSPENDING")},
		"by id":    {SecretId: aws.String("rot/busy"), VersionId: aws.String(token(2))},
	} {
		_, err := h.sm.GetSecretValue(ctxT(t), in)
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Fatalf("GetSecretValue of the pending version %s: want ResourceNotFoundException, got %v", name, err)
		}
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := h.emu.WaitIdle(short); err == nil {
		t.Fatal("WaitIdle returned while a rotation step was running")
	}
	_, err := h.rotate(t, "rot/busy", token(3), nil)
	wantAPIError(t, err, "InvalidRequestException", rotationIncompleteMsg)

	release()
	h.waitIdle(t)
	if got := h.stages(t, "rot/busy"); !equalStages(got, map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}) {
		t.Fatalf("stages after rotation = %v", got)
	}
}

func TestRotationRetriesFailedStep(t *testing.T) {
	h, rot := newRotationHarness(t, Options{})
	rot.failNext(stepSetSecret, 2)
	createWithToken(t, h, "rot/retry", token(1), "v1")
	if _, err := h.rotate(t, "rot/retry", token(2), nil); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)

	want := []string{stepCreateSecret, stepSetSecret, stepCreateSecret, stepSetSecret, stepCreateSecret, stepSetSecret, stepTestSecret, stepFinishSecret}
	if got := rot.steps(); !slices.Equal(got, want) {
		t.Fatalf("steps = %v, want %v", got, want)
	}
	events := rot.recorded()
	if events[0].RotationToken == events[2].RotationToken || events[2].RotationToken == events[4].RotationToken {
		t.Fatal("each attempt must carry a fresh RotationToken")
	}
	// The value stored by the first attempt stays; later createSecret calls find it.
	if rot.pendingErr[1] != nil || rot.pendingErr[2] != nil {
		t.Fatalf("retries saw AWSPENDING as %v, %v; want the stored value", rot.pendingErr[1], rot.pendingErr[2])
	}
	if h.currentValue(t, "rot/retry") != "rotated-"+token(2) {
		t.Fatal("rotation did not complete after retries")
	}
}

func TestRotationLeftIncompleteAndRequeued(t *testing.T) {
	h, rot := newRotationHarness(t, Options{MaxAttempts: 2})
	rot.failNext(stepTestSecret, 100)
	createWithToken(t, h, "rot/stuck", token(1), "v1")
	if _, err := h.rotate(t, "rot/stuck", token(2), nil); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)

	if got := len(rot.steps()); got != 6 {
		t.Fatalf("%d steps ran, want 2 attempts of create/set/test", got)
	}
	if got := h.stages(t, "rot/stuck"); !equalStages(got, map[string][]string{token(1): {"AWSCURRENT"}, token(2): {"AWSPENDING"}}) {
		t.Fatalf("stages = %v: a failed rotation leaves AWSPENDING in place", got)
	}
	if d := h.describe(t, "rot/stuck"); d.LastRotatedDate != nil {
		t.Fatalf("LastRotatedDate = %v after a failed rotation", d.LastRotatedDate)
	}

	rot.failNext(stepTestSecret, 0)
	_, err := h.rotate(t, "rot/stuck", token(3), nil)
	var invalid *types.InvalidRequestException
	if !errors.As(err, &invalid) {
		t.Fatalf("want InvalidRequestException, got %v", err)
	}
	wantAPIError(t, err, "InvalidRequestException", rotationIncompleteMsg)
	h.waitIdle(t)
	// The old rotation was re-attempted, with its own token.
	if got := h.stages(t, "rot/stuck"); !equalStages(got, map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}) {
		t.Fatalf("stages after re-attempt = %v", got)
	}
}

func TestRotationNotFinishedIsAFailure(t *testing.T) {
	h, rot := newRotationHarness(t, Options{MaxAttempts: 2})
	rot.setSkipFinish(true)
	createWithToken(t, h, "rot/unfinished", token(1), "v1")
	if _, err := h.rotate(t, "rot/unfinished", token(2), nil); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)
	if got := len(rot.steps()); got != 8 {
		t.Fatalf("%d steps ran, want 2 full attempts", got)
	}
	if got := h.stages(t, "rot/unfinished"); !equalStages(got, map[string][]string{token(1): {"AWSCURRENT"}, token(2): {"AWSPENDING"}}) {
		t.Fatalf("stages = %v: the emulator must not move labels itself", got)
	}
	if d := h.describe(t, "rot/unfinished"); d.LastRotatedDate != nil {
		t.Fatal("an unfinished rotation must not set LastRotatedDate")
	}
}

func TestRotateImmediatelyFalse(t *testing.T) {
	h, rot := newRotationHarness(t, Options{Clock: fixedClock()})
	createWithToken(t, h, "rot/later", token(1), "v1")
	out, err := h.sm.RotateSecret(ctxT(t), &secretsmanager.RotateSecretInput{
		SecretId: aws.String("rot/later"), ClientRequestToken: aws.String(token(2)), RotationLambdaARN: aws.String(testLambda),
		RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(7)}, RotateImmediately: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)
	if got := rot.steps(); !slices.Equal(got, []string{stepTestSecret}) {
		t.Fatalf("steps = %v, want testSecret only", got)
	}
	if !slices.Equal(rot.testValues, []string{"v1"}) {
		t.Fatal("testSecret must see a copy of the current value")
	}
	if got := h.stages(t, "rot/later"); !equalStages(got, map[string][]string{token(1): {"AWSCURRENT"}}) {
		t.Fatalf("stages = %v: the temporary version must be removed", got)
	}
	all, _ := h.sm.ListSecretVersionIds(ctxT(t), &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("rot/later"), IncludeDeprecated: aws.Bool(true)})
	if len(all.Versions) != 1 {
		t.Fatalf("%d versions remain, want 1", len(all.Versions))
	}
	d := h.describe(t, "rot/later")
	if !aws.ToBool(d.RotationEnabled) || d.LastRotatedDate != nil || !d.NextRotationDate.Equal(h.emu.Clock().Now().Add(7*24*time.Hour)) || aws.ToString(out.VersionId) != token(2) {
		t.Fatalf("DescribeSecret = %+v", d)
	}
}

func TestScheduledRotation(t *testing.T) {
	tests := []struct {
		name       string
		rules      types.RotationRulesType
		early      time.Duration // advancing this much does not rotate yet
		due        time.Duration // this much more makes the rotation due
		wantNext   time.Duration // NextRotationDate after the scheduled rotation, from the start
		viaHTTP    bool
		advanceArg string
	}{
		{name: "AutomaticallyAfterDays", rules: types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1)}, early: 23 * time.Hour, due: 2 * time.Hour, wantNext: 49 * time.Hour},
		{name: "rate hours", rules: types.RotationRulesType{ScheduleExpression: aws.String("rate(6 hours)")}, early: 5 * time.Hour, due: 2 * time.Hour, wantNext: 13 * time.Hour},
		// The fixed clock starts at 09:30 UTC: the window opens at 16:00.
		{name: "cron via /_emu/clock", rules: types.RotationRulesType{ScheduleExpression: aws.String("cron(0 16 * * ? *)"), Duration: aws.String("2h")}, early: 6 * time.Hour, due: time.Hour, wantNext: 30*time.Hour + 30*time.Minute, viaHTTP: true, advanceArg: "1h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, rot := newRotationHarness(t, Options{Clock: fixedClock()})
			start := h.emu.Clock().Now()
			createWithToken(t, h, "rot/sched", token(1), "v1")
			if _, err := h.rotate(t, "rot/sched", token(2), &tc.rules); err != nil {
				t.Fatal(err)
			}
			h.waitIdle(t)

			h.emu.Advance(tc.early)
			h.waitIdle(t)
			if n := len(rot.steps()); n != 4 {
				t.Fatalf("%d steps after advancing %v, want only the first rotation", n, tc.early)
			}
			if tc.viaHTTP {
				if status, body := adminCall(t, "POST", h.srv.URL+"/_emu/clock", `{"advance":"`+tc.advanceArg+`"}`); status != 200 {
					t.Fatalf("POST /_emu/clock = %d %v", status, body)
				}
			} else {
				h.emu.Advance(tc.due)
			}
			h.waitIdle(t)
			if n := len(rot.steps()); n != 8 {
				t.Fatalf("%d steps, want a second, scheduled rotation", n)
			}
			d := h.describe(t, "rot/sched")
			if !d.LastRotatedDate.Equal(start.Add(tc.early + tc.due)) {
				t.Fatalf("LastRotatedDate = %v, want %v", d.LastRotatedDate, start.Add(tc.early+tc.due))
			}
			if !d.NextRotationDate.Equal(start.Add(tc.wantNext)) {
				t.Fatalf("NextRotationDate = %v, want %v", d.NextRotationDate, start.Add(tc.wantNext))
			}
			if slices.Contains(h.stages(t, "rot/sched")[token(2)], "AWSCURRENT") {
				t.Fatal("the scheduled rotation must create a new current version")
			}
		})
	}
}

func TestCancelRotateSecret(t *testing.T) {
	h, rot := newRotationHarness(t, Options{})
	entered, release := rot.blockFirstCreate()
	createWithToken(t, h, "rot/cancel", token(1), "v1")
	if _, err := h.rotate(t, "rot/cancel", token(2), &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(10)}); err != nil {
		t.Fatal(err)
	}
	<-entered
	out, err := h.sm.CancelRotateSecret(ctxT(t), &secretsmanager.CancelRotateSecretInput{SecretId: aws.String("rot/cancel")})
	if err != nil || aws.ToString(out.VersionId) != token(2) {
		t.Fatalf("CancelRotateSecret = %+v, %v; want the incomplete version", out, err)
	}
	release()
	h.waitIdle(t)
	if got := rot.steps(); !slices.Equal(got, []string{stepCreateSecret}) {
		t.Fatalf("steps = %v: a cancelled rotation must stop after the running step", got)
	}
	d := h.describe(t, "rot/cancel")
	if aws.ToBool(d.RotationEnabled) || d.RotationEnabled == nil || aws.ToString(d.RotationLambdaARN) != testLambda ||
		d.RotationRules == nil || d.NextRotationDate != nil || d.LastRotatedDate != nil {
		t.Fatalf("DescribeSecret after cancel = %+v", d)
	}
	if !slices.Contains(h.stages(t, "rot/cancel")[token(2)], "AWSPENDING") {
		t.Fatal("CancelRotateSecret must leave AWSPENDING for the caller to remove")
	}

	// As documented: remove AWSPENDING, then rotation can start again.
	if _, err := h.sm.UpdateSecretVersionStage(ctxT(t), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("rot/cancel"), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token(2))}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.rotate(t, "rot/cancel", token(3), nil); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)
	if !slices.Contains(h.stages(t, "rot/cancel")[token(3)], "AWSCURRENT") {
		t.Fatal("rotation after cancel did not complete")
	}
}

func TestManualWriteAbandonsRotation(t *testing.T) {
	h, rot := newRotationHarness(t, Options{MaxAttempts: 1})
	rot.failNext(stepSetSecret, 1)
	createWithToken(t, h, "rot/manual", token(1), "v1")
	if _, err := h.rotate(t, "rot/manual", token(2), nil); err != nil {
		t.Fatal(err)
	}
	h.waitIdle(t)
	if _, err := h.sm.PutSecretValue(ctxT(t), &secretsmanager.PutSecretValueInput{SecretId: aws.String("rot/manual"), ClientRequestToken: aws.String(token(5)), SecretString: aws.String("manual")}); err != nil {
		t.Fatal(err)
	}
	if got := h.stages(t, "rot/manual"); !equalStages(got, map[string][]string{token(1): {"AWSPREVIOUS"}, token(5): {"AWSCURRENT"}}) {
		t.Fatalf("stages = %v: a new AWSCURRENT value abandons the rotation", got)
	}
	if _, err := h.rotate(t, "rot/manual", token(6), nil); err != nil {
		t.Fatalf("RotateSecret after the abandoned rotation: %v", err)
	}
	h.waitIdle(t)
	if !slices.Contains(h.stages(t, "rot/manual")[token(6)], "AWSCURRENT") {
		t.Fatal("rotation did not complete")
	}
}

func TestRotateSecretErrors(t *testing.T) {
	unknownLambda := "arn:aws:lambda:us-east-1:123456789012:function:unknown"
	tests := []struct {
		name              string
		invoker           Invoker
		setup             func(h *harness)
		in                secretsmanager.RotateSecretInput
		wantType, wantMsg string
	}{
		{name: "no function ever configured", in: secretsmanager.RotateSecretInput{SecretId: aws.String("r")},
			wantType: "InvalidRequestException", wantMsg: "No Lambda rotation function ARN is associated with this secret."},
		{name: "no invoker", invoker: nil, in: secretsmanager.RotateSecretInput{SecretId: aws.String("r"), RotationLambdaARN: aws.String(testLambda)},
			wantType: "AccessDeniedException", wantMsg: "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com."},
		{name: "router without route", invoker: Router{Routes: map[string]Invoker{testLambda: InvokerFunc(nil)}}, in: secretsmanager.RotateSecretInput{SecretId: aws.String("r"), RotationLambdaARN: aws.String(unknownLambda)},
			wantType: "AccessDeniedException"},
		{name: "unknown secret", in: secretsmanager.RotateSecretInput{SecretId: aws.String("nope"), RotationLambdaARN: aws.String(testLambda)},
			wantType: "ResourceNotFoundException"},
		{name: "deleted secret", setup: func(h *harness) {
			h.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String("r")})
		}, in: secretsmanager.RotateSecretInput{SecretId: aws.String("r"), RotationLambdaARN: aws.String(testLambda)}, wantType: "InvalidRequestException", wantMsg: markedDeletedMessage},
		{name: "days out of range", in: rotateWith(types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1001)}), wantType: "ValidationException"},
		{name: "days and expression", in: rotateWith(types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1), ScheduleExpression: aws.String("rate(1 day)")}), wantType: "InvalidParameterException"},
		{name: "rate too frequent", in: rotateWith(types.RotationRulesType{ScheduleExpression: aws.String("rate(2 hours)")}), wantType: "InvalidParameterException"},
		{name: "cron with minutes", in: rotateWith(types.RotationRulesType{ScheduleExpression: aws.String("cron(30 16 * * ? *)")}), wantType: "InvalidParameterException"},
		{name: "bad duration", in: rotateWith(types.RotationRulesType{ScheduleExpression: aws.String("rate(1 day)"), Duration: aws.String("5x")}), wantType: "ValidationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := tc.invoker
			if inv == nil && tc.name != "no invoker" {
				inv = InvokerFunc(func(context.Context, string, []byte) error { return nil })
			}
			h := newHarness(t, Options{Invoker: inv})
			h.createSecret(t, "r", "v")
			if tc.setup != nil {
				tc.setup(h)
			}
			tc.in.ClientRequestToken = aws.String(token(7))
			_, err := h.sm.RotateSecret(ctxT(t), &tc.in)
			wantAPIError(t, err, tc.wantType, tc.wantMsg)
			if tc.wantType == "AccessDeniedException" {
				if d := h.describe(t, "r"); d.RotationEnabled != nil || d.RotationLambdaARN != nil || len(d.VersionIdsToStages) != 1 {
					t.Fatalf("a refused RotateSecret must save nothing: %+v", d)
				}
			}
		})
	}
	t.Run("cancel without rotation", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.createSecret(t, "r", "v")
		_, err := h.sm.CancelRotateSecret(ctxT(t), &secretsmanager.CancelRotateSecretInput{SecretId: aws.String("r")})
		wantAPIError(t, err, "InvalidRequestException", "")
	})
}

func rotateWith(rules types.RotationRulesType) secretsmanager.RotateSecretInput {
	return secretsmanager.RotateSecretInput{SecretId: aws.String("r"), RotationLambdaARN: aws.String(testLambda), RotationRules: &rules}
}

func TestCloseStopsWorker(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	inv := InvokerFunc(func(ctx context.Context, _ string, _ []byte) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return ctx.Err()
	})
	emu, err := New(Options{Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	emu.Start()
	emu.Start() // idempotent
	emu.mu.Lock()
	s := &secret{Seq: emu.nextSeq(), ARN: emu.newARN("c"), Name: "c", Rotation: rotationState{LambdaARN: testLambda}}
	emu.secrets[s.ARN] = s
	emu.startRotationLocked(s, token(1), emu.clock.Now())
	emu.mu.Unlock()

	done := make(chan error)
	go func() { done <- emu.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the running step")
	}
}

// Secrets Manager runs the rotations of different secrets independently:
// one stuck inside its rotation function delays no other secret's.
func TestRotationsOfDifferentSecretsRunIndependently(t *testing.T) {
	h, rot := newRotationHarness(t, Options{})
	entered, release := rot.blockFirstCreate()
	var once sync.Once
	defer once.Do(release)
	createWithToken(t, h, "rot/stuck", token(1), "v1")
	createWithToken(t, h, "rot/free", token(11), "v1")
	if _, err := h.rotate(t, "rot/stuck", token(2), nil); err != nil {
		t.Fatal(err)
	}
	<-entered // rot/stuck's createSecret is waiting
	if _, err := h.rotate(t, "rot/free", token(12), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(h.stages(t, "rot/free")[token(12)], "AWSCURRENT") {
		if time.Now().After(deadline) {
			t.Fatalf("rot/free did not rotate while rot/stuck's rotation was running: stages %v", h.stages(t, "rot/free"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	once.Do(release)
	h.waitIdle(t)
	if !slices.Contains(h.stages(t, "rot/stuck")[token(2)], "AWSCURRENT") {
		t.Fatalf("rot/stuck did not finish: stages %v", h.stages(t, "rot/stuck"))
	}
}

// concurrencyProbe is a rotation function that records how many
// invocations run at once, in all and per secret, each taking hold.
type concurrencyProbe struct {
	next Invoker
	hold time.Duration

	mu        sync.Mutex
	now, peak int
	perSecret map[string]int
	peakOne   int
}

func (p *concurrencyProbe) Invoke(ctx context.Context, fn string, payload []byte) error {
	var ev RotationEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return err
	}
	p.mu.Lock()
	p.now++
	p.perSecret[ev.SecretID]++
	p.peak = max(p.peak, p.now)
	p.peakOne = max(p.peakOne, p.perSecret[ev.SecretID])
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.now--
		p.perSecret[ev.SecretID]--
		p.mu.Unlock()
	}()
	time.Sleep(p.hold)
	return p.next.Invoke(ctx, fn, payload)
}

// Many rotations at once run in parallel up to MaxParallel, and never two
// attempts of one secret: a rotation superseding a cancelled one waits
// for the cancelled attempt's running step to end.
func TestRotationParallelismBounds(t *testing.T) {
	rot := newTemplateRotator()
	probe := &concurrencyProbe{next: rot, hold: 20 * time.Millisecond, perSecret: map[string]int{}}
	h, _ := newRotationHarness(t, Options{Invoker: Router{Routes: map[string]Invoker{testLambda: probe}}, MaxParallel: 4})
	rot.setClient(h.sm)
	const n = 12
	for i := range n {
		name := fmt.Sprintf("rot/many-%d", i)
		createWithToken(t, h, name, token(100+i), "v1")
		if _, err := h.rotate(t, name, token(200+i), nil); err != nil {
			t.Fatal(err)
		}
	}
	h.waitIdle(t)
	for i := range n {
		name := fmt.Sprintf("rot/many-%d", i)
		if !slices.Contains(h.stages(t, name)[token(200+i)], "AWSCURRENT") {
			t.Fatalf("%s did not rotate: %v", name, h.stages(t, name))
		}
	}
	probe.mu.Lock()
	peak, peakOne := probe.peak, probe.peakOne
	probe.mu.Unlock()
	if peak < 2 || peak > 4 {
		t.Errorf("peak concurrent invocations = %d, want 2..4 (MaxParallel 4)", peak)
	}
	if peakOne != 1 {
		t.Errorf("peak concurrent invocations of one secret = %d, want 1", peakOne)
	}

	t.Run("a rotation after a cancel waits for the cancelled step", func(t *testing.T) {
		entered, release := rot.blockFirstCreate()
		createWithToken(t, h, "rot/recycled", token(300), "v1")
		if _, err := h.rotate(t, "rot/recycled", token(301), nil); err != nil {
			t.Fatal(err)
		}
		<-entered
		if _, err := h.sm.CancelRotateSecret(ctxT(t), &secretsmanager.CancelRotateSecretInput{SecretId: aws.String("rot/recycled")}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.sm.UpdateSecretVersionStage(ctxT(t), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("rot/recycled"), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token(301))}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.rotate(t, "rot/recycled", token(302), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		release()
		h.waitIdle(t)
		probe.mu.Lock()
		peakOne := probe.peakOne
		probe.mu.Unlock()
		if peakOne != 1 {
			t.Fatalf("two attempts of rot/recycled ran at once")
		}
		if !slices.Contains(h.stages(t, "rot/recycled")[token(302)], "AWSCURRENT") {
			t.Fatalf("the rotation after the cancel did not complete: %v", h.stages(t, "rot/recycled"))
		}
	})
}
