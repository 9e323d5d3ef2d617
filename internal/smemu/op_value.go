package smemu

import (
	"fmt"
	"slices"
	"time"
)

func (e *Emulator) getSecretValue(in getSecretValueInput) (getSecretValueOutput, error) {
	if err := checkToken("versionId", in.VersionId); err != nil {
		return getSecretValueOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return getSecretValueOutput{}, err
	}
	v, err := pickVersion(s, in.VersionId, in.VersionStage)
	if err != nil {
		return getSecretValueOutput{}, err
	}
	// Secrets Manager records access by day, not by instant.
	day := e.clock.Now().Truncate(24 * time.Hour)
	s.LastAccessed, v.LastAccessed = &day, &day
	str, bin := cloneValue(v.String, v.Binary)
	return getSecretValueOutput{
		ARN:           s.ARN,
		Name:          s.Name,
		VersionId:     v.ID,
		SecretString:  str,
		SecretBinary:  bin,
		VersionStages: slices.Clone(v.Stages),
		CreatedDate:   stamp(v.Created),
	}, nil
}

// pickVersion resolves VersionId and/or VersionStage (default AWSCURRENT) to
// a version that holds a value.
func pickVersion(s *secret, id, stage string) (*version, error) {
	if id == "" {
		if stage == "" {
			stage = stageCurrent
		}
		v := s.versionWithStage(stage)
		if v == nil || !v.hasValue() {
			return nil, errNoValueForStage(stage)
		}
		return v, nil
	}
	v := s.versionByID(id)
	switch {
	case v == nil:
		return nil, errNoValueForVersion(id)
	case stage != "" && !v.hasStage(stage):
		return nil, errStageMismatch()
	case !v.hasValue() && stage != "":
		return nil, errNoValueForStage(stage)
	case !v.hasValue():
		return nil, errNoValueForVersion(id)
	}
	return v, nil
}

func (e *Emulator) putSecretValue(in putSecretValueInput) (putSecretValueOutput, error) {
	if err := checkPutInput(in); err != nil {
		return putSecretValueOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return putSecretValueOutput{}, err
	}
	v, err := e.writeVersionLocked(s, *in.ClientRequestToken, in.SecretString, in.SecretBinary, in.VersionStages)
	if err != nil {
		return putSecretValueOutput{}, err
	}
	return putSecretValueOutput{ARN: s.ARN, Name: s.Name, VersionId: v.ID, VersionStages: slices.Clone(v.Stages)}, nil
}

func checkPutInput(in putSecretValueInput) error {
	if err := checkSecretID(in.SecretId); err != nil {
		return err
	}
	if err := checkValue(in.SecretString, in.SecretBinary, true); err != nil {
		return err
	}
	if err := requireToken(in.ClientRequestToken, typeInvalidRequest); err != nil {
		return err
	}
	if err := checkRotationToken(in.RotationToken); err != nil {
		return err
	}
	return checkStages(in.VersionStages)
}

func checkRotationToken(token string) error {
	if token == "" {
		return nil
	}
	if len(token) < 36 || len(token) > 256 || !rotationTokenPattern.MatchString(token) {
		return errConstraint("rotationToken", "must satisfy regular expression pattern: ^[a-zA-Z0-9\\-]+$ with length between 36 and 256")
	}
	return nil
}

// writeVersionLocked stores a value under token with the given labels (nil
// means AWSCURRENT), as PutSecretValue and UpdateSecret do. A token naming a
// version that holds the same value is an idempotent retry; a token naming
// RotateSecret's value-less AWSPENDING version fills it in (createSecret).
func (e *Emulator) writeVersionLocked(s *secret, token string, str *string, bin []byte, stages []string) (*version, error) {
	v := s.versionByID(token)
	if v != nil && v.hasValue() {
		if !v.sameValue(str, bin) {
			return nil, errTokenInUse(token, s.ARN)
		}
		return v, nil
	}
	if stages == nil {
		stages = []string{stageCurrent}
	}
	if s.versionWithStage(stageCurrent) == nil && !slices.Contains(stages, stageCurrent) {
		// The first value of a secret is always AWSCURRENT.
		stages = append(slices.Clone(stages), stageCurrent)
	}
	if s.stageCountWith(stages...) > maxStagesPerSecret {
		return nil, errTooManyStages()
	}
	now := e.clock.Now()
	if v == nil {
		v = e.newVersion(s, token, str, bin, now)
	} else {
		v.String, v.Binary = cloneValue(str, bin)
	}
	for _, st := range stages {
		if st == stageCurrent {
			e.currentByWriteLocked(s, v, now)
			continue
		}
		s.attach(st, v)
	}
	s.LastChanged = now
	s.purgeDeprecated(now)
	return v, nil
}

// currentByWriteLocked makes v current because a new value was written. That
// abandons a rotation in progress: Secrets Manager strips AWSPENDING from the
// version holding it (CloudTrail RotationAbandoned) — unless v is that very
// version. A manual change also restarts an interval rotation schedule.
func (e *Emulator) currentByWriteLocked(s *secret, v *version, now time.Time) {
	if p := s.versionWithStage(stagePending); p != nil && p != v {
		p.removeStage(stagePending)
		e.abandonLocked(s, "a new AWSCURRENT value was written")
	}
	s.makeCurrent(v)
	e.restartIntervalLocked(s, now)
}

func (e *Emulator) updateSecretVersionStage(in updateSecretVersionStageInput) (arnName, error) {
	if err := checkStageMoveInput(in); err != nil {
		return arnName{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return arnName{}, err
	}
	from, to, err := stageMoveVersions(s, in)
	if err != nil {
		return arnName{}, err
	}
	if err := moveStage(s, in.VersionStage, from, to); err != nil {
		return arnName{}, err
	}
	s.LastChanged = e.clock.Now()
	return arnName{ARN: s.ARN, Name: s.Name}, nil
}

func checkStageMoveInput(in updateSecretVersionStageInput) error {
	if err := checkSecretID(in.SecretId); err != nil {
		return err
	}
	if err := checkStage("versionStage", in.VersionStage); err != nil {
		return err
	}
	if err := checkToken("removeFromVersionId", in.RemoveFromVersionId); err != nil {
		return err
	}
	return checkToken("moveToVersionId", in.MoveToVersionId)
}

// stageMoveVersions resolves RemoveFromVersionId and MoveToVersionId.
func stageMoveVersions(s *secret, in updateSecretVersionStageInput) (from, to *version, err error) {
	if id := in.RemoveFromVersionId; id != "" {
		if from = s.versionByID(id); from == nil {
			return nil, nil, errNoValueForVersion(id)
		}
		if !from.hasStage(in.VersionStage) {
			return nil, nil, newAPIError(typeInvalidParameter, "The staging label %s isn't attached to version %s.", in.VersionStage, id)
		}
	}
	if id := in.MoveToVersionId; id != "" {
		if to = s.versionByID(id); to == nil {
			return nil, nil, errNoValueForVersion(id)
		}
	}
	return from, to, nil
}

// moveStage takes stage off from (if given) and puts it on to (if given).
// Taking a label from a version the caller did not name is refused.
func moveStage(s *secret, stage string, from, to *version) error {
	if to == nil {
		if from != nil {
			from.removeStage(stage)
		}
		return nil
	}
	holder := s.versionWithStage(stage)
	if holder == to {
		return nil
	}
	if holder != nil && holder != from {
		return errLabelElsewhere(stage, holder.ID)
	}
	if s.stageCountWith(stage) > maxStagesPerSecret {
		return errTooManyStages()
	}
	if stage == stageCurrent {
		s.makeCurrent(to)
		return nil
	}
	s.attach(stage, to)
	return nil
}

func (e *Emulator) listSecretVersionIds(in listSecretVersionIdsInput) (listSecretVersionIdsOutput, error) {
	if err := checkPageSize(in.MaxResults); err != nil {
		return listSecretVersionIdsOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolve(in.SecretId)
	if err != nil {
		return listSecretVersionIdsOutput{}, err
	}
	var shown []*version
	for _, v := range s.Versions {
		if len(v.Stages) > 0 || in.IncludeDeprecated {
			shown = append(shown, v)
		}
	}
	key := func(v *version) string { return fmt.Sprintf("%020d", v.Seq) }
	pageOf, next, err := paginate(shown, key, pageCursor{scope: "versions/" + s.ARN, limit: in.MaxResults, token: in.NextToken})
	if err != nil {
		return listSecretVersionIdsOutput{}, err
	}
	out := listSecretVersionIdsOutput{ARN: s.ARN, Name: s.Name, Versions: []listedVersion{}, NextToken: next}
	for _, v := range pageOf {
		out.Versions = append(out.Versions, listVersion(v))
	}
	return out, nil
}

func listVersion(v *version) listedVersion {
	kms := v.KMSKeyID
	if kms == "" {
		kms = "DefaultEncryptionKey"
	}
	return listedVersion{
		VersionId:        v.ID,
		VersionStages:    slices.Clone(v.Stages),
		CreatedDate:      stamp(v.Created),
		LastAccessedDate: stampPtr(v.LastAccessed),
		KmsKeyIds:        []string{kms},
	}
}
