package smemu

import (
	"slices"
	"strings"
	"time"
)

func (e *Emulator) createSecret(in createSecretInput) (createSecretOutput, error) {
	if err := checkCreateInput(in); err != nil {
		return createSecretOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.purgeExpiredLocked()
	token := deref(in.ClientRequestToken)
	if existing := e.byName(in.Name); existing != nil {
		return createAgain(existing, token, in)
	}
	now := e.clock.Now()
	s := &secret{
		Seq:         e.nextSeq(),
		ARN:         e.newARN(in.Name),
		Name:        in.Name,
		Description: in.Description,
		KMSKeyID:    in.KmsKeyId,
		Tags:        mergeTags(nil, in.Tags),
		Created:     now,
		LastChanged: now,
	}
	out := createSecretOutput{ARN: s.ARN, Name: s.Name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v := e.newVersion(s, token, in.SecretString, in.SecretBinary, now)
		v.Stages = []string{stageCurrent}
		out.VersionId = token
	}
	e.secrets[s.ARN] = s
	return out, nil
}

func checkCreateInput(in createSecretInput) error {
	if err := checkName(in.Name); err != nil {
		return err
	}
	if err := checkValue(in.SecretString, in.SecretBinary, false); err != nil {
		return err
	}
	if err := checkWriteToken(in.ClientRequestToken, in.SecretString != nil || in.SecretBinary != nil); err != nil {
		return err
	}
	if err := checkMaxLen("description", in.Description, maxDescriptionLen); err != nil {
		return err
	}
	if err := checkMaxLen("kmsKeyId", in.KmsKeyId, maxKMSKeyIDLen); err != nil {
		return err
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	if len(mergeTags(nil, in.Tags)) > maxTagsPerSecret {
		return errTooManyTags()
	}
	if len(in.AddReplicaRegions) > 0 {
		return newAPIError(typeInvalidRequest, "Replication is not supported by this emulator (smemu).")
	}
	return nil
}

// checkWriteToken validates the ClientRequestToken of a call that may write
// a version: raw requests carrying a value must bring one.
func checkWriteToken(token *string, hasValue bool) error {
	if hasValue {
		return requireToken(token, typeInvalidRequest)
	}
	return checkToken("clientRequestToken", deref(token))
}

// createAgain answers CreateSecret for a name already taken: the same token
// and value is an idempotent retry, anything else a conflict.
func createAgain(s *secret, token string, in createSecretInput) (createSecretOutput, error) {
	if s.deleted() {
		return createSecretOutput{}, errNameScheduledForDeletion()
	}
	if v := s.versionByID(token); token != "" && v != nil {
		if !v.sameValue(in.SecretString, in.SecretBinary) {
			return createSecretOutput{}, errTokenInUse(token, s.ARN)
		}
		return createSecretOutput{ARN: s.ARN, Name: s.Name, VersionId: token}, nil
	}
	return createSecretOutput{}, errSecretExists(in.Name)
}

// newVersion appends an unlabelled version holding the value to s.
func (e *Emulator) newVersion(s *secret, id string, str *string, bin []byte, now time.Time) *version {
	v := &version{Seq: e.nextSeq(), ID: id, Created: now, KMSKeyID: s.KMSKeyID}
	v.String, v.Binary = cloneValue(str, bin)
	s.Versions = append(s.Versions, v)
	return v
}

func cloneValue(str *string, bin []byte) (*string, []byte) {
	if str != nil {
		c := *str
		str = &c
	}
	return str, slices.Clone(bin)
}

func (e *Emulator) describeSecret(in secretIDInput) (describeSecretOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolve(in.SecretId)
	if err != nil {
		return describeSecretOutput{}, err
	}
	return describeSecretOutput{secretMetadata: metadata(s), VersionIdsToStages: s.labelled()}, nil
}

// metadata is what DescribeSecret and ListSecrets show of a secret: fields
// never set are omitted, as Secrets Manager omits them.
func metadata(s *secret) secretMetadata {
	m := secretMetadata{
		ARN:              s.ARN,
		Name:             s.Name,
		Description:      s.Description,
		KmsKeyId:         s.KMSKeyID,
		LastChangedDate:  stamp(s.LastChanged),
		LastAccessedDate: stampPtr(s.LastAccessed),
		DeletedDate:      stampPtr(s.DeletionDate),
		CreatedDate:      stamp(s.Created),
	}
	if s.Tags != nil {
		tags := slices.Clone(s.Tags)
		m.Tags = &tags
	}
	if r := s.Rotation; r.Enabled != nil {
		m.RotationEnabled = r.Enabled
		m.RotationLambdaARN = r.LambdaARN
		m.RotationRules = r.Rules
		m.LastRotatedDate = stampPtr(r.LastRotated)
		m.NextRotationDate = stampPtr(r.Next)
	}
	return m
}

func (e *Emulator) updateSecret(in updateSecretInput) (createSecretOutput, error) {
	if err := checkUpdateInput(in); err != nil {
		return createSecretOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return createSecretOutput{}, err
	}
	out := createSecretOutput{ARN: s.ARN, Name: s.Name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v, err := e.writeVersionLocked(s, *in.ClientRequestToken, in.SecretString, in.SecretBinary, nil)
		if err != nil {
			return createSecretOutput{}, err
		}
		out.VersionId = v.ID
	}
	if in.Description != nil {
		s.Description = *in.Description
	}
	if in.KmsKeyId != nil {
		s.KMSKeyID = *in.KmsKeyId
	}
	s.LastChanged = e.clock.Now()
	return out, nil
}

func checkUpdateInput(in updateSecretInput) error {
	if err := checkSecretID(in.SecretId); err != nil {
		return err
	}
	if err := checkValue(in.SecretString, in.SecretBinary, false); err != nil {
		return err
	}
	if err := checkWriteToken(in.ClientRequestToken, in.SecretString != nil || in.SecretBinary != nil); err != nil {
		return err
	}
	if err := checkMaxLen("description", deref(in.Description), maxDescriptionLen); err != nil {
		return err
	}
	return checkMaxLen("kmsKeyId", deref(in.KmsKeyId), maxKMSKeyIDLen)
}

func (e *Emulator) deleteSecret(in deleteSecretInput) (deleteSecretOutput, error) {
	if err := checkSecretID(in.SecretId); err != nil {
		return deleteSecretOutput{}, err
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	days, err := recoveryDays(in.RecoveryWindowInDays, force)
	if err != nil {
		return deleteSecretOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.purgeExpiredLocked()
	now := e.clock.Now()
	s := e.lookup(in.SecretId)
	switch {
	case s == nil && force:
		// Secrets Manager answers a forced delete of an unknown secret as if it existed.
		arn, name := e.phantomIdentity(in.SecretId)
		return deleteSecretOutput{ARN: arn, Name: name, DeletionDate: stamp(now)}, nil
	case s == nil:
		return deleteSecretOutput{}, errSecretNotFound()
	case s.deleted() && !force:
		return deleteSecretOutput{}, errMarkedForDeletion()
	case force:
		e.removeSecretLocked(s.ARN)
		return deleteSecretOutput{ARN: s.ARN, Name: s.Name, DeletionDate: stamp(now)}, nil
	}
	deletion := now.Add(time.Duration(days) * 24 * time.Hour)
	s.DeletionDate = &deletion
	e.dropJobLocked(s.ARN)
	return deleteSecretOutput{ARN: s.ARN, Name: s.Name, DeletionDate: stamp(deletion)}, nil
}

// recoveryDays validates RecoveryWindowInDays against ForceDeleteWithoutRecovery.
func recoveryDays(window *int64, force bool) (int64, error) {
	if window == nil {
		return maxRecoveryDays, nil
	}
	if *window < minRecoveryDays || *window > maxRecoveryDays {
		return 0, errRecoveryWindow()
	}
	if force {
		return 0, newAPIError(typeInvalidParameter, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	return *window, nil
}

// phantomIdentity makes up the ARN and name a forced delete of an unknown
// secret answers with.
func (e *Emulator) phantomIdentity(id string) (arn, name string) {
	if rest, ok := strings.CutPrefix(id, e.arnPrefix()); ok {
		return id, arnSuffixPattern.ReplaceAllString(rest, "")
	}
	return e.newARN(id), id
}

func (e *Emulator) restoreSecret(in secretIDInput) (arnName, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolve(in.SecretId)
	if err != nil {
		return arnName{}, err
	}
	s.DeletionDate = nil
	return arnName{ARN: s.ARN, Name: s.Name}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
