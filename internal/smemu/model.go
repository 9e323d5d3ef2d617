package smemu

import (
	"bytes"
	"slices"
	"time"
)

// The staging labels Secrets Manager manages itself.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
	stagePending  = "AWSPENDING"
)

// Limits documented for Secrets Manager (reference §2).
const (
	maxStagesPerSecret   = 20
	maxVersionsPerSecret = 100
	minDeprecatedAge     = 24 * time.Hour
)

// tag is one secret tag; the JSON form is also the wire form.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// version is one version of a secret. A version created by RotateSecret has
// labels but no value until the rotation function's createSecret step
// stores one.
type version struct {
	Seq          int64      `json:"seq"`
	ID           string     `json:"id"`
	Stages       []string   `json:"stages,omitempty"`
	String       *string    `json:"string,omitempty"`
	Binary       []byte     `json:"binary,omitempty"`
	KMSKeyID     string     `json:"kmsKeyId,omitempty"`
	Created      time.Time  `json:"created"`
	LastAccessed *time.Time `json:"lastAccessed,omitempty"`
}

func (v *version) hasValue() bool { return v.String != nil || v.Binary != nil }

func (v *version) hasStage(stage string) bool { return slices.Contains(v.Stages, stage) }

// sameValue reports whether the version holds exactly this value, which is
// what ClientRequestToken idempotency compares.
func (v *version) sameValue(str *string, bin []byte) bool {
	if (v.String == nil) != (str == nil) || (v.Binary == nil) != (bin == nil) {
		return false
	}
	if str != nil && *v.String != *str {
		return false
	}
	return bytes.Equal(v.Binary, bin)
}

func (v *version) addStage(stage string) {
	if !v.hasStage(stage) {
		v.Stages = append(v.Stages, stage)
	}
}

func (v *version) removeStage(stage string) {
	v.Stages = slices.DeleteFunc(v.Stages, func(s string) bool { return s == stage })
}

// rotationState is what DescribeSecret shows about rotation plus Due, the
// internal moment the scheduler next starts a rotation.
type rotationState struct {
	Enabled     *bool          `json:"enabled,omitempty"`
	LambdaARN   string         `json:"lambdaArn,omitempty"`
	Rules       *rotationRules `json:"rules,omitempty"`
	LastRotated *time.Time     `json:"lastRotated,omitempty"`
	Next        *time.Time     `json:"next,omitempty"`
	Due         *time.Time     `json:"due,omitempty"`
}

func (r *rotationState) enabled() bool { return r.Enabled != nil && *r.Enabled }

// secret is one secret with its versions, in creation order.
type secret struct {
	Seq          int64         `json:"seq"`
	ARN          string        `json:"arn"`
	Name         string        `json:"name"`
	Description  string        `json:"description,omitempty"`
	KMSKeyID     string        `json:"kmsKeyId,omitempty"`
	Tags         []tag         `json:"tags"` // nil: never tagged (DescribeSecret omits Tags)
	Created      time.Time     `json:"created"`
	LastChanged  time.Time     `json:"lastChanged"`
	LastAccessed *time.Time    `json:"lastAccessed,omitempty"`
	DeletionDate *time.Time    `json:"deletionDate,omitempty"` // set while scheduled for deletion
	Versions     []*version    `json:"versions,omitempty"`
	Rotation     rotationState `json:"rotation"`
	// Policy is the resource policy as put (PutResourcePolicy); "" is none.
	Policy string `json:"policy,omitempty"`
}

func (s *secret) deleted() bool { return s.DeletionDate != nil }

func (s *secret) versionByID(id string) *version {
	for _, v := range s.Versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (s *secret) versionWithStage(stage string) *version {
	for _, v := range s.Versions {
		if v.hasStage(stage) {
			return v
		}
	}
	return nil
}

// attach puts stage on v and takes it off every other version: a label
// marks at most one version.
func (s *secret) attach(stage string, v *version) {
	for _, other := range s.Versions {
		if other != v {
			other.removeStage(stage)
		}
	}
	v.addStage(stage)
}

// makeCurrent moves AWSCURRENT to v. The version it leaves becomes
// AWSPREVIOUS (keeping its other labels), as every AWSCURRENT move does.
func (s *secret) makeCurrent(v *version) {
	old := s.versionWithStage(stageCurrent)
	if old == v {
		return
	}
	s.attach(stageCurrent, v)
	v.removeStage(stagePrevious)
	if old != nil {
		s.attach(stagePrevious, old)
	}
}

// incompleteRotation returns the version holding AWSPENDING when that is not
// the AWSCURRENT version: the state Secrets Manager reads as "a previous
// rotation isn't complete".
func (s *secret) incompleteRotation() *version {
	v := s.versionWithStage(stagePending)
	if v == nil || v.hasStage(stageCurrent) {
		return nil
	}
	return v
}

// stageCountWith counts the distinct labels the secret would carry with
// extra added, for the 20-label quota.
func (s *secret) stageCountWith(extra ...string) int {
	seen := map[string]bool{}
	for _, v := range s.Versions {
		for _, st := range v.Stages {
			seen[st] = true
		}
	}
	for _, st := range extra {
		seen[st] = true
	}
	return len(seen)
}

// labelled maps version id → labels for versions that have labels;
// unlabelled (deprecated) versions are hidden, as in DescribeSecret.
func (s *secret) labelled() map[string][]string {
	out := map[string][]string{}
	for _, v := range s.Versions {
		if len(v.Stages) > 0 {
			out[v.ID] = slices.Clone(v.Stages)
		}
	}
	return out
}

// purgeDeprecated drops the oldest unlabelled versions while the secret has
// more than the version quota, sparing any younger than a day — the
// background clean-up Secrets Manager documents.
func (s *secret) purgeDeprecated(now time.Time) {
	for i := 0; len(s.Versions) > maxVersionsPerSecret && i < len(s.Versions); {
		v := s.Versions[i]
		if len(v.Stages) == 0 && now.Sub(v.Created) >= minDeprecatedAge {
			s.Versions = slices.Delete(s.Versions, i, i+1)
			continue
		}
		i++
	}
}

func (s *secret) removeVersion(id string) {
	s.Versions = slices.DeleteFunc(s.Versions, func(v *version) bool { return v.ID == id })
}
