package smemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// templateRotator is a rotation function written like the AWS template
// (SecretsManagerRotationTemplate): it talks to the emulator only through
// the SDK, so the tests exercise the same calls a real function makes.
type templateRotator struct {
	mu         sync.Mutex
	sm         *secretsmanager.Client
	events     []RotationEvent
	failures   map[string]int // step → how many more times it fails
	skipFinish bool           // finishSecret returns without moving AWSCURRENT
	block      chan struct{}  // when set, the first createSecret waits for it to close
	entered    chan struct{}  // closed when that createSecret starts waiting
	pendingErr []error        // what reading AWSPENDING in createSecret answered
	testValues []string       // AWSPENDING values seen by testSecret
}

func newTemplateRotator() *templateRotator {
	return &templateRotator{failures: map[string]int{}}
}

// setClient gives the function its SDK client. The lock orders it before
// the worker's first call: the emulator reaches the function only through
// network round trips, which the race detector cannot see.
func (r *templateRotator) setClient(sm *secretsmanager.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sm = sm
}

func (r *templateRotator) client() *secretsmanager.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sm
}

// Invoke decodes the event, records it, and runs the step.
func (r *templateRotator) Invoke(ctx context.Context, functionARN string, payload []byte) error {
	var ev RotationEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding event: %w", err)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	fail := r.failures[ev.Step] > 0
	if fail {
		r.failures[ev.Step]--
	}
	r.mu.Unlock()
	if fail {
		return fmt.Errorf("injected failure in %s", ev.Step)
	}
	return r.handle(ctx, ev)
}

func (r *templateRotator) failNext(step string, times int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures[step] = times
}

func (r *templateRotator) setSkipFinish(skip bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipFinish = skip
}

func (r *templateRotator) recorded() []RotationEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *templateRotator) steps() []string {
	var out []string
	for _, ev := range r.recorded() {
		out = append(out, ev.Step)
	}
	return out
}

// handle is the template's lambda_handler: the common checks, then the step.
func (r *templateRotator) handle(ctx context.Context, ev RotationEvent) error {
	d, err := r.client().DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ev.SecretID)})
	if err != nil {
		return err
	}
	if !aws.ToBool(d.RotationEnabled) {
		return errors.New("rotation is not enabled")
	}
	stages, ok := d.VersionIdsToStages[ev.ClientRequestToken]
	switch {
	case !ok:
		return errors.New("the token has no stage for rotation")
	case slices.Contains(stages, stageCurrent):
		return nil // already rotated: idempotent no-op
	case !slices.Contains(stages, stagePending):
		return errors.New("the token is not AWSPENDING")
	}
	switch ev.Step {
	case stepCreateSecret:
		return r.createSecret(ctx, ev)
	case stepSetSecret:
		return nil
	case stepTestSecret:
		return r.testSecret(ctx, ev)
	case stepFinishSecret:
		return r.finishSecret(ctx, ev, d.VersionIdsToStages)
	}
	return fmt.Errorf("unknown step %q", ev.Step)
}

func (r *templateRotator) createSecret(ctx context.Context, ev RotationEvent) error {
	r.waitIfBlocked()
	if _, err := r.client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID), VersionStage: aws.String(stageCurrent)}); err != nil {
		return err
	}
	_, err := r.client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID), VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String(stagePending)})
	r.mu.Lock()
	r.pendingErr = append(r.pendingErr, err)
	r.mu.Unlock()
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		return err // nil: an earlier attempt already stored the value
	}
	_, err = r.client().PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(ev.SecretID),
		ClientRequestToken: aws.String(ev.ClientRequestToken),
		SecretString:       aws.String("rotated-" + ev.ClientRequestToken),
		VersionStages:      []string{stagePending},
		RotationToken:      aws.String(ev.RotationToken),
	})
	return err
}

// blockFirstCreate makes the next createSecret wait until release is
// called; entered is closed once it waits.
func (r *templateRotator) blockFirstCreate() (entered <-chan struct{}, release func()) {
	block, in := make(chan struct{}), make(chan struct{})
	r.mu.Lock()
	r.block, r.entered = block, in
	r.mu.Unlock()
	return in, func() { close(block) }
}

// waitIfBlocked holds the first createSecret until the test closes block.
func (r *templateRotator) waitIfBlocked() {
	r.mu.Lock()
	block, entered := r.block, r.entered
	r.block, r.entered = nil, nil
	r.mu.Unlock()
	if block != nil {
		close(entered)
		<-block
	}
}

func (r *templateRotator) testSecret(ctx context.Context, ev RotationEvent) error {
	out, err := r.client().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID), VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String(stagePending)})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.testValues = append(r.testValues, aws.ToString(out.SecretString))
	r.mu.Unlock()
	return nil
}

func (r *templateRotator) finishSecret(ctx context.Context, ev RotationEvent, stages map[string][]string) error {
	r.mu.Lock()
	skip := r.skipFinish
	r.mu.Unlock()
	if skip {
		return nil
	}
	current := ""
	for id, st := range stages {
		if slices.Contains(st, stageCurrent) {
			current = id
		}
	}
	if _, err := r.client().UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(ev.SecretID), VersionStage: aws.String(stageCurrent),
		MoveToVersionId: aws.String(ev.ClientRequestToken), RemoveFromVersionId: aws.String(current),
	}); err != nil {
		return err
	}
	_, err := r.client().UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(ev.SecretID), VersionStage: aws.String(stagePending), RemoveFromVersionId: aws.String(ev.ClientRequestToken),
	})
	return err
}
