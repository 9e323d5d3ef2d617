package smemu

import (
	"strconv"
	"time"
)

// epoch is a timestamp as AWS JSON 1.1 writes it: seconds since the epoch,
// with a millisecond fraction.
type epoch time.Time

// MarshalJSON writes the timestamp as a JSON number.
func (t epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

func stamp(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func stampPtr(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	return stamp(*t)
}

// rotationRules is the RotationRules structure, on the wire and on disk.
type rotationRules struct {
	AutomaticallyAfterDays int64  `json:"AutomaticallyAfterDays,omitempty"`
	Duration               string `json:"Duration,omitempty"`
	ScheduleExpression     string `json:"ScheduleExpression,omitempty"`
}

// arnName is the output of the operations that only identify the secret.
type arnName struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

type createSecretInput struct {
	Name               string
	ClientRequestToken *string
	Description        string
	KmsKeyId           string
	SecretString       *string
	SecretBinary       []byte
	Tags               []tag
	AddReplicaRegions  []struct{ Region, KmsKeyId string }
}

type createSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionId string `json:"VersionId,omitempty"`
}

type secretIDInput struct {
	SecretId string
}

// secretMetadata is the metadata DescribeSecret and ListSecrets share.
type secretMetadata struct {
	ARN               string         `json:"ARN"`
	Name              string         `json:"Name"`
	Description       string         `json:"Description,omitempty"`
	KmsKeyId          string         `json:"KmsKeyId,omitempty"`
	RotationEnabled   *bool          `json:"RotationEnabled,omitempty"`
	RotationLambdaARN string         `json:"RotationLambdaARN,omitempty"`
	RotationRules     *rotationRules `json:"RotationRules,omitempty"`
	LastRotatedDate   *epoch         `json:"LastRotatedDate,omitempty"`
	LastChangedDate   *epoch         `json:"LastChangedDate,omitempty"`
	LastAccessedDate  *epoch         `json:"LastAccessedDate,omitempty"`
	DeletedDate       *epoch         `json:"DeletedDate,omitempty"`
	NextRotationDate  *epoch         `json:"NextRotationDate,omitempty"`
	Tags              *[]tag         `json:"Tags,omitempty"`
	CreatedDate       *epoch         `json:"CreatedDate,omitempty"`
}

type describeSecretOutput struct {
	secretMetadata
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
}

type listedSecret struct {
	secretMetadata
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

type getSecretValueInput struct {
	SecretId     string
	VersionId    string
	VersionStage string
}

type getSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionId     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   *epoch   `json:"CreatedDate,omitempty"`
}

type putSecretValueInput struct {
	SecretId           string
	ClientRequestToken *string
	SecretString       *string
	SecretBinary       []byte
	VersionStages      []string
	RotationToken      string
}

type putSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionId     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
}

type updateSecretInput struct {
	SecretId           string
	ClientRequestToken *string
	Description        *string
	KmsKeyId           *string
	SecretString       *string
	SecretBinary       []byte
}

type updateSecretVersionStageInput struct {
	SecretId            string
	VersionStage        string
	RemoveFromVersionId string
	MoveToVersionId     string
}

type rotateSecretInput struct {
	SecretId           string
	ClientRequestToken *string
	RotationLambdaARN  string
	RotationRules      *rotationRules
	RotateImmediately  *bool
}

type rotateSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionId string `json:"VersionId,omitempty"`
}

type filter struct {
	Key    string
	Values []string
}

type listSecretsInput struct {
	Filters                []filter
	IncludePlannedDeletion bool
	MaxResults             *int
	NextToken              *string
	SortBy                 string
	SortOrder              string
}

type listSecretsOutput struct {
	SecretList []listedSecret `json:"SecretList"`
	NextToken  string         `json:"NextToken,omitempty"`
}

type listSecretVersionIdsInput struct {
	SecretId          string
	IncludeDeprecated bool
	MaxResults        *int
	NextToken         *string
}

type listedVersion struct {
	VersionId        string   `json:"VersionId"`
	VersionStages    []string `json:"VersionStages,omitempty"`
	CreatedDate      *epoch   `json:"CreatedDate,omitempty"`
	LastAccessedDate *epoch   `json:"LastAccessedDate,omitempty"`
	KmsKeyIds        []string `json:"KmsKeyIds,omitempty"`
}

type listSecretVersionIdsOutput struct {
	ARN       string          `json:"ARN"`
	Name      string          `json:"Name"`
	Versions  []listedVersion `json:"Versions"`
	NextToken string          `json:"NextToken,omitempty"`
}

type deleteSecretInput struct {
	SecretId                   string
	RecoveryWindowInDays       *int64
	ForceDeleteWithoutRecovery *bool
}

type deleteSecretOutput struct {
	ARN          string `json:"ARN"`
	Name         string `json:"Name"`
	DeletionDate *epoch `json:"DeletionDate,omitempty"`
}

type tagResourceInput struct {
	SecretId string
	Tags     []tag
}

type untagResourceInput struct {
	SecretId string
	TagKeys  []string
}

// empty is the `{}` output of TagResource and UntagResource.
type empty struct{}
