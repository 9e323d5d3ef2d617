package secretstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Secret is a secret's metadata, without its value.
type Secret struct {
	ARN, Name, Description string
	Tags                   map[string]string
	CreatedAt              time.Time
	LastChangedAt          time.Time
	// DeletedAt is when a secret scheduled for deletion will be deleted.
	DeletedAt         *time.Time
	RotationEnabled   bool
	RotationLambdaARN string
	Rules             RotationRules
	LastRotatedAt     *time.Time
	NextRotationAt    *time.Time
	// Versions maps each labelled version id to its staging labels.
	Versions map[string][]string
}

// CurrentVersion returns the id of the version labelled AWSCURRENT.
func (s Secret) CurrentVersion() (string, bool) { return s.VersionWith(Current) }

// VersionWith returns the id of the version that carries label.
func (s Secret) VersionWith(label string) (string, bool) {
	for id, stages := range s.Versions {
		for _, st := range stages {
			if st == label {
				return id, true
			}
		}
	}
	return "", false
}

// RotationRules is a secret's rotation schedule.
type RotationRules struct {
	AutomaticallyAfterDays int64
	ScheduleExpression     string
	Duration               string
}

// Version is one version of a secret, with its value.
type Version struct {
	ID        string
	Stages    []string
	Value     string
	CreatedAt time.Time
}

// CreateInput describes a new secret.
type CreateInput struct {
	Name, Description string
	// KMSKeyID encrypts the secret; "" means Secrets Manager's default key.
	KMSKeyID string
	// Value is the SecretString; "" creates the secret without a version
	// (ddconn's record of a mint in progress).
	Value string
	// Token is the ClientRequestToken (the first version's id); "" lets the
	// SDK generate one. Without a Value no version records it.
	Token string
	Tags  map[string]string
}

// Create creates a secret whose first version (AWSCURRENT) holds in.Value,
// or a secret without a version when in.Value is "".
// The returned Secret has ARN and Name set.
func (s *Store) Create(ctx context.Context, in CreateInput) (Secret, error) {
	out, err := s.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:               aws.String(in.Name),
		Description:        optional(in.Description),
		KmsKeyId:           optional(in.KMSKeyID),
		SecretString:       optional(in.Value),
		ClientRequestToken: optional(in.Token),
		Tags:               tagList(in.Tags),
	})
	if err != nil {
		return Secret{}, wrap("creating secret", in.Name, err)
	}
	return Secret{ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name)}, nil
}

// Describe returns a secret's metadata. It also works on secrets that are
// scheduled for deletion (DeletedAt is then set).
func (s *Store) Describe(ctx context.Context, id string) (Secret, error) {
	out, err := s.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return Secret{}, wrap("describing secret", id, err)
	}
	return Secret{
		ARN:               aws.ToString(out.ARN),
		Name:              aws.ToString(out.Name),
		Description:       aws.ToString(out.Description),
		Tags:              tagMap(out.Tags),
		CreatedAt:         aws.ToTime(out.CreatedDate),
		LastChangedAt:     aws.ToTime(out.LastChangedDate),
		DeletedAt:         out.DeletedDate,
		RotationEnabled:   aws.ToBool(out.RotationEnabled),
		RotationLambdaARN: aws.ToString(out.RotationLambdaARN),
		Rules:             rulesFrom(out.RotationRules),
		LastRotatedAt:     out.LastRotatedDate,
		NextRotationAt:    out.NextRotationDate,
		Versions:          out.VersionIdsToStages,
	}, nil
}

// Get returns one version of a secret: the version versionID, the version
// labelled stage, or AWSCURRENT when both are empty.
func (s *Store) Get(ctx context.Context, id, versionID, stage string) (Version, error) {
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(id),
		VersionId:    optional(versionID),
		VersionStage: optional(stage),
	})
	if err != nil {
		return Version{}, wrap("reading secret value of", id, err)
	}
	return Version{
		ID:        aws.ToString(out.VersionId),
		Stages:    out.VersionStages,
		Value:     aws.ToString(out.SecretString),
		CreatedAt: aws.ToTime(out.CreatedDate),
	}, nil
}

// Put writes value as a new version and returns its id. With no stages the
// new version becomes AWSCURRENT and the old one AWSPREVIOUS; otherwise it
// gets exactly stages. token is the ClientRequestToken ("" = generated);
// rotationToken is the RotationToken of a rotation step ("" = none).
func (s *Store) Put(ctx context.Context, id, token, value string, stages []string, rotationToken string) (string, error) {
	out, err := s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(id),
		ClientRequestToken: optional(token),
		SecretString:       aws.String(value),
		VersionStages:      stages,
		RotationToken:      optional(rotationToken),
	})
	if err != nil {
		return "", wrap("writing secret value of", id, err)
	}
	return aws.ToString(out.VersionId), nil
}

// MoveStage attaches stage to version moveTo and removes it from version
// removeFrom (UpdateSecretVersionStage); either may be "".
func (s *Store) MoveStage(ctx context.Context, id, stage, moveTo, removeFrom string) error {
	_, err := s.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(id),
		VersionStage:        aws.String(stage),
		MoveToVersionId:     optional(moveTo),
		RemoveFromVersionId: optional(removeFrom),
	})
	return wrap("moving staging label "+stage+" of", id, err)
}

// SetDescription replaces a secret's description (UpdateSecret, no new version).
func (s *Store) SetDescription(ctx context.Context, id, description string) error {
	_, err := s.sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{
		SecretId:    aws.String(id),
		Description: aws.String(description),
	})
	return wrap("updating description of", id, err)
}

// List returns up to limit secrets whose names start with namePrefix, and
// the cursor of the next page ("" on the last page). Only metadata is read.
func (s *Store) List(ctx context.Context, namePrefix string, limit int, cursor string) ([]Secret, string, error) {
	return s.list(ctx, namePrefix, limit, cursor, false, "")
}

// ListIncludingDeletedByName is ListIncludingDeleted in name order
// (ListSecrets' SortBy name), so secrets whose names share a prefix, such
// as one connection's managed keys, come on the same pages. A cursor works
// only with the method that returned it.
func (s *Store) ListIncludingDeletedByName(ctx context.Context, namePrefix string, limit int, cursor string) ([]Secret, string, error) {
	return s.list(ctx, namePrefix, limit, cursor, true, types.SortByTypeName)
}

func (s *Store) list(ctx context.Context, namePrefix string, limit int, cursor string, deleted bool, sortBy types.SortByType) ([]Secret, string, error) {
	in := &secretsmanager.ListSecretsInput{
		Filters:                []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{namePrefix}}},
		NextToken:              optional(cursor),
		IncludePlannedDeletion: aws.Bool(deleted),
		SortBy:                 sortBy,
	}
	if limit > 0 {
		in.MaxResults = aws.Int32(int32(min(limit, 100)))
	}
	out, err := s.sm.ListSecrets(ctx, in)
	if err != nil {
		return nil, "", wrap("listing secrets", "", err)
	}
	secrets := make([]Secret, 0, len(out.SecretList))
	for _, e := range out.SecretList {
		secrets = append(secrets, secretFromListEntry(e))
	}
	return secrets, aws.ToString(out.NextToken), nil
}

// MaxFilterValues is the most values one ListSecrets filter takes.
const MaxFilterValues = 10

// ListTagged is List restricted to the secrets whose tag key has one of
// values (at most 10). The tag-value filter matches any tag's value by
// prefix, so the tag is checked again here: a page may hold fewer secrets
// than limit while the cursor is not "".
func (s *Store) ListTagged(ctx context.Context, namePrefix, key string, values []string, limit int, cursor string) ([]Secret, string, error) {
	if len(values) == 0 || len(values) > MaxFilterValues {
		return nil, "", fmt.Errorf("listing secrets by tag: %w: 1 to %d values, not %d", ErrInvalid, MaxFilterValues, len(values))
	}
	in := &secretsmanager.ListSecretsInput{
		Filters: []types.Filter{
			{Key: types.FilterNameStringTypeName, Values: []string{namePrefix}},
			{Key: types.FilterNameStringTypeTagKey, Values: []string{key}},
			{Key: types.FilterNameStringTypeTagValue, Values: values},
		},
		NextToken: optional(cursor),
	}
	if limit > 0 {
		in.MaxResults = aws.Int32(int32(min(limit, 100)))
	}
	out, err := s.sm.ListSecrets(ctx, in)
	if err != nil {
		return nil, "", wrap("listing secrets by tag", "", err)
	}
	secrets := make([]Secret, 0, len(out.SecretList))
	for _, e := range out.SecretList {
		if sec := secretFromListEntry(e); slices.Contains(values, sec.Tags[key]) {
			secrets = append(secrets, sec)
		}
	}
	return secrets, aws.ToString(out.NextToken), nil
}

// Restore cancels the scheduled deletion of a secret (RestoreSecret).
func (s *Store) Restore(ctx context.Context, id string) error {
	_, err := s.sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(id)})
	return wrap("restoring secret", id, err)
}

// WithTag returns the live secrets whose names start with namePrefix and
// whose tag key has value: every page of ListTagged.
func (s *Store) WithTag(ctx context.Context, namePrefix, key, value string) ([]Secret, error) {
	var out []Secret
	for cursor := ""; ; {
		page, next, err := s.ListTagged(ctx, namePrefix, key, []string{value}, 100, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// Delete schedules the secret's deletion after recoveryDays (7–30), or
// deletes it at once when force is set. It returns the deletion date.
func (s *Store) Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error) {
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(id)}
	if force {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else {
		in.RecoveryWindowInDays = aws.Int64(int64(recoveryDays))
	}
	out, err := s.sm.DeleteSecret(ctx, in)
	if err != nil {
		return time.Time{}, wrap("deleting secret", id, err)
	}
	return aws.ToTime(out.DeletionDate), nil
}

// Tag adds or replaces tags on a secret.
func (s *Store) Tag(ctx context.Context, id string, tags map[string]string) error {
	_, err := s.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(id), Tags: tagList(tags)})
	return wrap("tagging secret", id, err)
}

// Untag removes tags from a secret; absent keys are ignored.
func (s *Store) Untag(ctx context.Context, id string, keys []string) error {
	_, err := s.sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(id), TagKeys: keys})
	return wrap("untagging secret", id, err)
}

// RotateInput configures RotateSecret. Nil and empty fields keep Secrets
// Manager's stored configuration and defaults.
type RotateInput struct {
	LambdaARN         string
	Rules             *RotationRules
	RotateImmediately *bool
	// Token is the ClientRequestToken of the new version ("" = generated).
	Token string
}

// Rotate starts a rotation (RotateSecret) and returns the id of the new
// pending version.
func (s *Store) Rotate(ctx context.Context, id string, in RotateInput) (string, error) {
	out, err := s.sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:           aws.String(id),
		RotationLambdaARN:  optional(in.LambdaARN),
		RotationRules:      rulesTo(in.Rules),
		RotateImmediately:  in.RotateImmediately,
		ClientRequestToken: optional(in.Token),
	})
	if err != nil {
		return "", wrap("rotating secret", id, err)
	}
	return aws.ToString(out.VersionId), nil
}

// CancelRotation turns rotation off (CancelRotateSecret) and returns the id
// of the version of an incomplete rotation, if any: the caller should
// remove AWSPENDING from it.
func (s *Store) CancelRotation(ctx context.Context, id string) (string, error) {
	out, err := s.sm.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return "", wrap("cancelling rotation of", id, err)
	}
	return aws.ToString(out.VersionId), nil
}

func secretFromListEntry(e types.SecretListEntry) Secret {
	return Secret{
		ARN:               aws.ToString(e.ARN),
		Name:              aws.ToString(e.Name),
		Description:       aws.ToString(e.Description),
		Tags:              tagMap(e.Tags),
		CreatedAt:         aws.ToTime(e.CreatedDate),
		LastChangedAt:     aws.ToTime(e.LastChangedDate),
		DeletedAt:         e.DeletedDate,
		RotationEnabled:   aws.ToBool(e.RotationEnabled),
		RotationLambdaARN: aws.ToString(e.RotationLambdaARN),
		Rules:             rulesFrom(e.RotationRules),
		LastRotatedAt:     e.LastRotatedDate,
		NextRotationAt:    e.NextRotationDate,
		Versions:          e.SecretVersionsToStages,
	}
}

func rulesFrom(r *types.RotationRulesType) RotationRules {
	if r == nil {
		return RotationRules{}
	}
	return RotationRules{
		AutomaticallyAfterDays: aws.ToInt64(r.AutomaticallyAfterDays),
		ScheduleExpression:     aws.ToString(r.ScheduleExpression),
		Duration:               aws.ToString(r.Duration),
	}
}

func rulesTo(r *RotationRules) *types.RotationRulesType {
	if r == nil {
		return nil
	}
	out := &types.RotationRulesType{
		ScheduleExpression: optional(r.ScheduleExpression),
		Duration:           optional(r.Duration),
	}
	if r.AutomaticallyAfterDays > 0 {
		out.AutomaticallyAfterDays = aws.Int64(r.AutomaticallyAfterDays)
	}
	return out
}

func tagList(m map[string]string) []types.Tag {
	if len(m) == 0 {
		return nil
	}
	out := make([]types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// optional maps "" to an absent parameter.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
