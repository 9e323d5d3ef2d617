package smemu

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// rotationJob is one rotation (or, testOnly, one RotateImmediately=false
// test) of a secret, retried until it succeeds or runs out of attempts.
type rotationJob struct {
	secretARN string
	token     string // ClientRequestToken: the version being rotated in
	lambdaARN string
	testOnly  bool
	attempts  int       // failed attempts so far
	due       time.Time // on the emulator clock: when the next attempt may start
	cancelled bool      // cancelled, abandoned or superseded: stop at the next step
}

var (
	errNotFinished = errors.New("finishSecret returned but the version is not AWSCURRENT")
	errAbandoned   = errors.New("rotation cancelled or abandoned")
)

// startRotationLocked creates the value-less AWSPENDING version the
// rotation function fills in, and queues the rotation.
func (e *Emulator) startRotationLocked(s *secret, token string, now time.Time) {
	v := e.newVersion(s, token, nil, nil, now)
	s.attach(stagePending, v)
	e.queueLocked(&rotationJob{secretARN: s.ARN, token: token, lambdaARN: s.Rotation.LambdaARN})
}

// startTestRotationLocked creates the temporary AWSPENDING version, a copy
// of the current value, that a RotateImmediately=false test runs against.
func (e *Emulator) startTestRotationLocked(s *secret, token string, now time.Time) {
	var v *version
	if cur := s.versionWithStage(stageCurrent); cur != nil {
		v = e.newVersion(s, token, cur.String, cur.Binary, now)
	} else {
		v = e.newVersion(s, token, nil, nil, now)
	}
	s.attach(stagePending, v)
	e.queueLocked(&rotationJob{secretARN: s.ARN, token: token, lambdaARN: s.Rotation.LambdaARN, testOnly: true})
}

// queueLocked makes j the secret's rotation, due now, superseding any other.
func (e *Emulator) queueLocked(j *rotationJob) {
	if old := e.jobs[j.secretARN]; old != nil {
		old.cancelled = true
	}
	j.due = e.clock.Now()
	e.jobs[j.secretARN] = j
	e.jobsChangedLocked()
	e.nudge()
}

// requeueLocked re-attempts the incomplete rotation of token now, with a
// fresh attempt budget: "That rotation will be reattempted."
func (e *Emulator) requeueLocked(s *secret, token, lambdaARN string) {
	if j := e.jobs[s.ARN]; j != nil && j.token == token {
		if e.running[s.ARN] != j {
			j.attempts, j.due = 0, e.clock.Now()
			e.jobsChangedLocked()
			e.nudge()
		}
		return
	}
	e.queueLocked(&rotationJob{secretARN: s.ARN, token: token, lambdaARN: lambdaARN})
}

// dropJobLocked cancels the secret's rotation. A step already running ends
// first; the attempt then stops.
func (e *Emulator) dropJobLocked(arn string) {
	j := e.jobs[arn]
	if j == nil {
		return
	}
	j.cancelled = true
	delete(e.jobs, arn)
	e.jobsChangedLocked()
}

func (e *Emulator) abandonLocked(s *secret, reason string) {
	if e.jobs[s.ARN] != nil {
		e.log.Info("rotation abandoned", "secret", s.Name, "reason", reason)
	}
	e.dropJobLocked(s.ARN)
}

// work is the scheduler goroutine: on every tick it starts scheduled
// rotations, and it starts each due attempt on a goroutine of its own, so
// a slow or failing rotation delays no other secret's. A secret has one
// attempt at a time: a job whose secret has one running waits for it to
// end. At most Options.MaxParallel attempts run at once. It returns once
// every attempt it started has ended.
func (e *Emulator) work(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer e.attempts.Wait()
	ticker := time.NewTicker(e.opts.TickInterval)
	defer ticker.Stop()
	for {
		e.tick()
		for ctx.Err() == nil {
			j := e.takeDueJob()
			if j == nil {
				break
			}
			e.attempts.Add(1)
			go func() {
				defer e.attempts.Done()
				e.attempt(ctx, j)
				e.nudge()
			}()
		}
		timer := time.NewTimer(e.untilNextJob())
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-ticker.C:
		case <-e.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// tick starts rotations that became due and purges expired deletions.
func (e *Emulator) tick() {
	e.mu.Lock()
	changed := e.scheduleDueLocked()
	e.mu.Unlock()
	if changed {
		e.saveLogged()
	}
}

// takeDueJob marks the earliest due job whose secret has no attempt
// running as running and returns it; nil when there is none, or when
// MaxParallel attempts are running.
func (e *Emulator) takeDueJob() *rotationJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.running) >= e.opts.MaxParallel {
		return nil
	}
	now := e.clock.Now()
	var due []*rotationJob
	for _, j := range e.jobs {
		if !j.due.After(now) && e.running[j.secretARN] == nil {
			due = append(due, j)
		}
	}
	if len(due) == 0 {
		return nil
	}
	j := slices.MinFunc(due, func(a, b *rotationJob) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.secretARN, b.secretARN))
	})
	e.running[j.secretARN] = j
	return j
}

// untilNextJob is how long the scheduler may sleep before a retry falls
// due; a job waiting for its secret's running attempt is woken by that
// attempt's end.
func (e *Emulator) untilNextJob() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	wait := e.opts.TickInterval
	if len(e.running) >= e.opts.MaxParallel {
		return wait // every slot is taken; an ending attempt nudges the worker
	}
	now := e.clock.Now()
	for _, j := range e.jobs {
		if e.running[j.secretARN] == nil {
			wait = min(wait, max(j.due.Sub(now), time.Millisecond))
		}
	}
	return wait
}

// attempt runs one attempt of a job without holding the lock: the rotation
// function calls back into the emulator.
func (e *Emulator) attempt(ctx context.Context, j *rotationJob) {
	err := e.runSteps(ctx, j)
	if ctx.Err() != nil {
		// Shutting down: the attempt does not count.
		e.mu.Lock()
		e.endAttemptLocked(j)
		e.jobsChangedLocked()
		e.mu.Unlock()
		return
	}
	e.mu.Lock()
	e.finishAttemptLocked(j, err)
	e.mu.Unlock()
	e.saveLogged()
}

// endAttemptLocked records that j's attempt is no longer running.
func (e *Emulator) endAttemptLocked(j *rotationJob) {
	if e.running[j.secretARN] == j {
		delete(e.running, j.secretARN)
	}
}

// runSteps invokes the rotation function for each step, back to back, with
// one fresh RotationToken for the attempt.
func (e *Emulator) runSteps(ctx context.Context, j *rotationJob) error {
	steps := []string{stepCreateSecret, stepSetSecret, stepTestSecret, stepFinishSecret}
	if j.testOnly {
		steps = []string{stepTestSecret}
	}
	event := RotationEvent{SecretID: j.secretARN, ClientRequestToken: j.token, RotationToken: newUUID()}
	for _, step := range steps {
		if e.isCancelled(j) {
			return errAbandoned
		}
		event.Step = step
		payload, err := json.Marshal(event)
		if err != nil {
			return fmt.Errorf("encoding %s event: %w", step, err)
		}
		e.log.InfoContext(ctx, "invoking rotation function", "secret", j.secretARN, "step", step, "token", j.token, "attempt", j.attempts+1)
		if e.opts.Invoker == nil {
			return fmt.Errorf("running %s: %w", step, ErrCannotInvoke)
		}
		if err := e.opts.Invoker.Invoke(ctx, j.lambdaARN, payload); err != nil {
			return fmt.Errorf("running %s: %w", step, err)
		}
	}
	return nil
}

func (e *Emulator) isCancelled(j *rotationJob) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return j.cancelled
}

// finishAttemptLocked records the outcome of an attempt. The emulator never
// moves labels itself: success means the function's finishSecret made the
// token AWSCURRENT.
func (e *Emulator) finishAttemptLocked(j *rotationJob, err error) {
	e.endAttemptLocked(j)
	defer e.jobsChangedLocked()
	s := e.secrets[j.secretARN]
	if j.cancelled || s == nil || s.deleted() {
		e.forgetJobLocked(j)
		return
	}
	if j.testOnly {
		e.finishTestLocked(s, j, err)
		return
	}
	if err == nil && !hasStage(s, j.token, stageCurrent) {
		err = errNotFinished
	}
	if err == nil {
		e.rotationSucceededLocked(s, j)
		return
	}
	e.rotationFailedLocked(s, j, err)
}

func hasStage(s *secret, versionID, stage string) bool {
	v := s.versionByID(versionID)
	return v != nil && v.hasStage(stage)
}

// forgetJobLocked removes j unless another job has replaced it.
func (e *Emulator) forgetJobLocked(j *rotationJob) {
	if e.jobs[j.secretARN] == j {
		delete(e.jobs, j.secretARN)
	}
}

// finishTestLocked removes the temporary version of a RotateImmediately=false
// test. A failed test is reported, not retried: the real rotation happens
// at the next scheduled window.
func (e *Emulator) finishTestLocked(s *secret, j *rotationJob, err error) {
	e.forgetJobLocked(j)
	if !hasStage(s, j.token, stageCurrent) {
		s.removeVersion(j.token)
	}
	if err != nil {
		e.log.Warn("rotation test failed", "secret", s.Name, "token", j.token, "error", err.Error())
		return
	}
	e.log.Info("rotation test succeeded", "secret", s.Name, "token", j.token)
}

func (e *Emulator) rotationSucceededLocked(s *secret, j *rotationJob) {
	e.forgetJobLocked(j)
	now := e.clock.Now()
	r := &s.Rotation
	r.LastRotated, r.Next, r.Due = &now, nil, nil
	if sched, _ := parseRules(r.Rules); sched != nil {
		next := sched.next(now)
		r.Next, r.Due = &next, &next
	}
	e.log.Info("rotation succeeded", "secret", s.Name, "token", j.token, "attempts", j.attempts+1)
}

// rotationFailedLocked leaves AWSPENDING in place and schedules a retry,
// until MaxAttempts; after that the rotation stays incomplete until the next
// RotateSecret or scheduled rotation re-queues it.
func (e *Emulator) rotationFailedLocked(s *secret, j *rotationJob, err error) {
	j.attempts++
	log := e.log.With("secret", s.Name, "token", j.token, "attempts", j.attempts, "error", err.Error())
	switch {
	case !hasStage(s, j.token, stagePending):
		e.forgetJobLocked(j)
		log.Warn("rotation failed and its AWSPENDING label is gone; not retrying")
	case j.attempts >= e.opts.MaxAttempts:
		e.forgetJobLocked(j)
		log.Warn("rotation failed; attempts exhausted, leaving it incomplete")
	default:
		j.due = e.clock.Now().Add(e.opts.RetryInterval)
		log.Warn("rotation failed; will retry", "retryIn", e.opts.RetryInterval.String())
	}
}

// scheduleDueLocked starts the rotations whose time has come, moving each
// secret's trigger to its next occurrence so a failing rotation is retried
// once per scheduled window, not on every tick.
func (e *Emulator) scheduleDueLocked() bool {
	changed := e.purgeExpiredLocked()
	now := e.clock.Now()
	due := e.dueSecretsLocked(now)
	for _, s := range due {
		r := &s.Rotation
		r.Due = nil
		if sched, _ := parseRules(r.Rules); sched != nil {
			next := sched.next(now)
			r.Due = &next
		}
		e.startScheduledLocked(s, now)
	}
	return changed || len(due) > 0
}

func (e *Emulator) dueSecretsLocked(now time.Time) []*secret {
	var due []*secret
	for _, s := range e.secrets {
		r := s.Rotation
		if !s.deleted() && r.enabled() && r.Due != nil && !now.Before(*r.Due) {
			due = append(due, s)
		}
	}
	slices.SortFunc(due, func(a, b *secret) int { return cmp.Compare(a.Seq, b.Seq) })
	return due
}

func (e *Emulator) startScheduledLocked(s *secret, now time.Time) {
	lambdaARN := s.Rotation.LambdaARN
	switch {
	case e.jobs[s.ARN] != nil:
		// A rotation is already in progress or waiting for its retry.
	case !e.canInvoke(lambdaARN):
		e.log.Warn("scheduled rotation skipped: cannot invoke the rotation function", "secret", s.Name, "function", lambdaARN)
	case s.incompleteRotation() != nil:
		e.requeueLocked(s, s.incompleteRotation().ID, lambdaARN)
	default:
		e.startRotationLocked(s, newUUID(), now)
	}
}

// restartIntervalLocked counts a manual change of AWSCURRENT as a rotation
// for AutomaticallyAfterDays and rate() schedules, as Secrets Manager does.
func (e *Emulator) restartIntervalLocked(s *secret, now time.Time) {
	r := &s.Rotation
	if !r.enabled() {
		return
	}
	sched, _ := parseRules(r.Rules)
	if _, isInterval := sched.(interval); !isInterval {
		return
	}
	next := sched.next(now)
	r.Next, r.Due = &next, &next
}
