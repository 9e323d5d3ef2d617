package smemu

import (
	"fmt"
	"net/http"
)

// Error types (the wire "__type") the emulator answers with.
const (
	typeResourceNotFound  = "ResourceNotFoundException"
	typeResourceExists    = "ResourceExistsException"
	typeInvalidRequest    = "InvalidRequestException"
	typeInvalidParameter  = "InvalidParameterException"
	typeValidation        = "ValidationException"
	typeAccessDenied      = "AccessDeniedException"
	typeLimitExceeded     = "LimitExceededException"
	typeInvalidNextToken  = "InvalidNextTokenException"
	typeInternal          = "InternalServiceError"
	typeThrottling        = "ThrottlingException"
	typeUnknownOperation  = "UnknownOperationException"
	typeSerialization     = "SerializationException"
	typeMalformedPolicy   = "MalformedPolicyDocumentException"
	typePublicPolicy      = "PublicPolicyException"
	invalidNameMessage    = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
	missingTokenMessage   = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	markedDeletedMessage  = "You can't perform this operation on the secret because it was marked for deletion."
	rotationIncompleteMsg = "A previous rotation isn't complete. That rotation will be reattempted."
)

// apiError is an error answered on the wire as {"__type": Type, "Message": Message}.
type apiError struct {
	Type    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// newAPIError builds an apiError with the status Secrets Manager uses for
// the type: every client error is 400, only InternalServiceError is a 500.
func newAPIError(typ, format string, args ...any) *apiError {
	status := http.StatusBadRequest
	if typ == typeInternal {
		status = http.StatusInternalServerError
	}
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...), Status: status}
}

func errSecretNotFound() *apiError {
	return newAPIError(typeResourceNotFound, "Secrets Manager can't find the specified secret.")
}

func errNoValueForStage(stage string) *apiError {
	return newAPIError(typeResourceNotFound, "Secrets Manager can't find the specified secret value for staging label: %s", stage)
}

func errNoValueForVersion(versionID string) *apiError {
	return newAPIError(typeResourceNotFound, "Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
}

func errMarkedForDeletion() *apiError {
	return newAPIError(typeInvalidRequest, markedDeletedMessage)
}

func errNameScheduledForDeletion() *apiError {
	return newAPIError(typeInvalidRequest, "You can't create this secret because a secret with this name is already scheduled for deletion.")
}

func errSecretExists(name string) *apiError {
	return newAPIError(typeResourceExists, "The operation failed because the secret %s already exists.", name)
}

func errTokenInUse(token, arn string) *apiError {
	return newAPIError(typeResourceExists, "You can't use ClientRequestToken %s because that value is already in use for a version of secret %s.", token, arn)
}

func errStageMismatch() *apiError {
	return newAPIError(typeInvalidRequest, "You provided a VersionStage that is not associated to the provided VersionId.")
}

func errNoRotationLambda() *apiError {
	return newAPIError(typeInvalidRequest, "No Lambda rotation function ARN is associated with this secret.")
}

func errRotationIncomplete() *apiError {
	return newAPIError(typeInvalidRequest, rotationIncompleteMsg)
}

func errCannotInvoke() *apiError {
	return newAPIError(typeAccessDenied, "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.")
}

func errRecoveryWindow() *apiError {
	return newAPIError(typeInvalidParameter, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
}

func errBothValues() *apiError {
	return newAPIError(typeInvalidParameter, "You can't specify both a binary secret value and a string secret value in the same secret.")
}

func errInvalidName() *apiError {
	return newAPIError(typeValidation, invalidNameMessage)
}

// errMissingToken is what Secrets Manager answers a raw request that omits
// ClientRequestToken; SDKs and the CLI always fill one in.
func errMissingToken(typ string) *apiError {
	return newAPIError(typ, missingTokenMessage)
}

// errLabelElsewhere answers an UpdateSecretVersionStage that would take a
// label from a version without naming it in RemoveFromVersionId.
func errLabelElsewhere(stage, holderID string) *apiError {
	return newAPIError(typeInvalidParameter, "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", stage, holderID)
}

// errConstraint formats a model constraint violation the way AWS JSON
// services do. The offending value is never echoed: it may be key material.
func errConstraint(field, constraint string) *apiError {
	return newAPIError(typeValidation, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member %s", field, constraint)
}
