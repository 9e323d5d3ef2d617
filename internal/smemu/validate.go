package smemu

import (
	"fmt"
	"strings"
)

// Input limits from the service model (reference §2).
const (
	maxNameLen        = 512
	maxSecretIDLen    = 2048
	minTokenLen       = 32
	maxTokenLen       = 64
	maxValueLen       = 65536
	maxDescriptionLen = 2048
	maxKMSKeyIDLen    = 2048
	maxLambdaARNLen   = 2048
	maxStageLen       = 256
	maxStagesInput    = 20
	maxTagKeyLen      = 128
	maxTagValueLen    = 256
	maxTagsPerSecret  = 50
	maxPageSize       = 100
	minRecoveryDays   = 7
	maxRecoveryDays   = 30
	maxFilters        = 10
	maxFilterValues   = 10
	maxFilterValueLen = 512
)

// validName reports whether s uses only the characters a secret name may
// hold: ASCII letters, digits and /_+=.@-.
func validName(s string) bool {
	for _, r := range s {
		if !isAlnum(r) && !strings.ContainsRune("/_+=.@-", r) {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func checkName(name string) error {
	if name == "" || !validName(name) {
		return errInvalidName()
	}
	if len(name) > maxNameLen {
		return errConstraint("name", fmt.Sprintf("must have length less than or equal to %d", maxNameLen))
	}
	return nil
}

// checkSecretID accepts a name, a full ARN or a partial ARN.
func checkSecretID(id string) error {
	if len(id) > maxSecretIDLen {
		return errConstraint("secretId", fmt.Sprintf("must have length less than or equal to %d", maxSecretIDLen))
	}
	if strings.HasPrefix(id, "arn:") {
		return nil
	}
	if id == "" || !validName(id) {
		return errInvalidName()
	}
	return nil
}

// checkToken validates an optional ClientRequestToken or VersionId.
func checkToken(field, token string) error {
	if token == "" {
		return nil
	}
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return errConstraint(field, fmt.Sprintf("must have length between %d and %d", minTokenLen, maxTokenLen))
	}
	return nil
}

// checkValue validates SecretString/SecretBinary; required says whether one
// of them must be present (PutSecretValue).
func checkValue(str *string, bin []byte, required bool) error {
	switch {
	case str != nil && bin != nil:
		return errBothValues()
	case str == nil && bin == nil && required:
		return newAPIError(typeInvalidRequest, "You must provide either SecretString or SecretBinary.")
	case str != nil && (len(*str) < 1 || len(*str) > maxValueLen):
		return errConstraint("secretString", fmt.Sprintf("must have length between 1 and %d", maxValueLen))
	case bin != nil && (len(bin) < 1 || len(bin) > maxValueLen):
		return errConstraint("secretBinary", fmt.Sprintf("must have length between 1 and %d", maxValueLen))
	}
	return nil
}

func checkMaxLen(field, value string, limit int) error {
	if len(value) > limit {
		return errConstraint(field, fmt.Sprintf("must have length less than or equal to %d", limit))
	}
	return nil
}

func checkStages(stages []string) error {
	if stages == nil {
		return nil
	}
	if len(stages) < 1 || len(stages) > maxStagesInput {
		return errConstraint("versionStages", fmt.Sprintf("must have length between 1 and %d", maxStagesInput))
	}
	for _, st := range stages {
		if err := checkStage("versionStages.member", st); err != nil {
			return err
		}
	}
	return nil
}

func checkStage(field, stage string) error {
	if len(stage) < 1 || len(stage) > maxStageLen {
		return errConstraint(field, fmt.Sprintf("must have length between 1 and %d", maxStageLen))
	}
	return nil
}

func checkTags(tags []tag) error {
	for _, t := range tags {
		switch {
		case len(t.Key) < 1 || len(t.Key) > maxTagKeyLen:
			return errConstraint("tags.member.key", fmt.Sprintf("must have length between 1 and %d", maxTagKeyLen))
		case len(t.Value) > maxTagValueLen:
			return errConstraint("tags.member.value", fmt.Sprintf("must have length less than or equal to %d", maxTagValueLen))
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return newAPIError(typeInvalidParameter, "Tag keys beginning with aws: are reserved for AWS use.")
		}
	}
	return nil
}

func checkPageSize(n *int) error {
	if n != nil && (*n < 1 || *n > maxPageSize) {
		return errConstraint("maxResults", fmt.Sprintf("must have value between 1 and %d", maxPageSize))
	}
	return nil
}

// requireToken answers raw requests that carry a value but no token; the
// error type differs by operation (reference §2).
func requireToken(token *string, errType string) error {
	if token == nil || *token == "" {
		return errMissingToken(errType)
	}
	return checkToken("clientRequestToken", *token)
}
