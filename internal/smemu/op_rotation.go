package smemu

import (
	"regexp"
	"time"
)

var rotationTokenPattern = regexp.MustCompile(`^[a-zA-Z0-9\-]+$`)

func (e *Emulator) rotateSecret(in rotateSecretInput) (rotateSecretOutput, error) {
	sched, err := checkRotateInput(in)
	if err != nil {
		return rotateSecretOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return rotateSecretOutput{}, err
	}
	lambdaARN := in.RotationLambdaARN
	if lambdaARN == "" {
		lambdaARN = s.Rotation.LambdaARN
	}
	if lambdaARN == "" {
		return rotateSecretOutput{}, errNoRotationLambda()
	}
	if !e.canInvoke(lambdaARN) {
		return rotateSecretOutput{}, errCannotInvoke()
	}
	if pending := s.incompleteRotation(); pending != nil {
		e.requeueLocked(s, pending.ID, lambdaARN)
		return rotateSecretOutput{}, errRotationIncomplete()
	}
	token := *in.ClientRequestToken
	if s.versionByID(token) != nil {
		return rotateSecretOutput{}, errTokenInUse(token, s.ARN)
	}
	now := e.clock.Now()
	e.configureRotationLocked(s, lambdaARN, in.RotationRules, sched, now)
	if in.RotateImmediately != nil && !*in.RotateImmediately {
		e.startTestRotationLocked(s, token, now)
	} else {
		e.startRotationLocked(s, token, now)
	}
	return rotateSecretOutput{ARN: s.ARN, Name: s.Name, VersionId: token}, nil
}

// checkRotateInput validates the request and parses its rotation rules.
func checkRotateInput(in rotateSecretInput) (schedule, error) {
	if err := checkSecretID(in.SecretId); err != nil {
		return nil, err
	}
	if err := requireToken(in.ClientRequestToken, typeInvalidParameter); err != nil {
		return nil, err
	}
	if err := checkMaxLen("rotationLambdaARN", in.RotationLambdaARN, maxLambdaARNLen); err != nil {
		return nil, err
	}
	return parseRules(in.RotationRules)
}

// canInvoke reports whether a rotation function can be reached: an
// Invoker must be configured, and a Router must have a route for the ARN.
func (e *Emulator) canInvoke(lambdaARN string) bool {
	if e.opts.Invoker == nil {
		return false
	}
	if c, ok := e.opts.Invoker.(invokeChecker); ok {
		return c.CanInvoke(lambdaARN)
	}
	return true
}

// configureRotationLocked stores what RotateSecret was given and computes
// NextRotationDate from the rules in force.
func (e *Emulator) configureRotationLocked(s *secret, lambdaARN string, rules *rotationRules, sched schedule, now time.Time) {
	enabled := true
	r := &s.Rotation
	r.Enabled, r.LambdaARN = &enabled, lambdaARN
	if rules != nil {
		stored := *rules
		r.Rules = &stored
	} else if r.Rules != nil {
		sched, _ = parseRules(r.Rules) // stored rules were validated when saved
	}
	r.Next, r.Due = nil, nil
	if sched == nil {
		return
	}
	next := sched.next(now)
	r.Next, r.Due = &next, &next
}

func (e *Emulator) cancelRotateSecret(in secretIDInput) (rotateSecretOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return rotateSecretOutput{}, err
	}
	if s.Rotation.LambdaARN == "" {
		return rotateSecretOutput{}, newAPIError(typeInvalidRequest, "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.")
	}
	disabled := false
	r := &s.Rotation
	r.Enabled, r.LastRotated, r.Next, r.Due = &disabled, nil, nil, nil
	e.dropJobLocked(s.ARN)
	out := rotateSecretOutput{ARN: s.ARN, Name: s.Name}
	// The caller should remove AWSPENDING from this version, or later
	// rotations stay blocked as "not complete".
	if pending := s.incompleteRotation(); pending != nil {
		out.VersionId = pending.ID
	}
	return out, nil
}
