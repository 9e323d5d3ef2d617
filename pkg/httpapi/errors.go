package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/kmsgrant"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

// Error codes of the envelope.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidJSON          = "invalid_json"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeNameTaken            = "name_taken"
	CodePendingDeletion      = "pending_deletion"
	CodeRotationInProgress   = "rotation_in_progress"
	CodeRotationNotEnabled   = "rotation_not_enabled"
	CodeRotationTooSoon      = "rotation_too_soon"
	CodeKeyLimitReached      = "key_limit_reached"
	CodeKeyShared            = "key_shared"
	CodeRotationUnavailable  = "rotation_not_configured"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeCredentialsRejected  = "credentials_rejected"
	CodeDatadogUnavailable   = "datadog_unavailable"
	CodeStoreUnavailable     = "secrets_manager_unavailable"
	CodeInternal             = "internal_error"
	CodeConnectionInUse      = "connection_in_use"
	// CodeServiceAccountNotAllowed: the connection's allowedServiceAccounts
	// does not list the service account (403).
	CodeServiceAccountNotAllowed = "service_account_not_allowed"
	// CodeServiceAccountInvalid: the service account does not exist, is
	// disabled or is a human user (422).
	CodeServiceAccountInvalid = "service_account_invalid"
	// CodeDatadogRejected: Datadog refused a managed-key request as
	// invalid, such as a scope the service account lacks (422).
	CodeDatadogRejected = "datadog_rejected"
	// CodeManagedKeysUnavailable: the deployment has no managed-key
	// service (503).
	CodeManagedKeysUnavailable = "managed_keys_not_configured"
	// CodeForbidden: the access policy does not let the caller take the
	// action on a connection it sees (403).
	CodeForbidden = "forbidden"
	// CodeKMSUnavailable: KMS failed while ddconn managed a managed key's
	// readers' grants (503).
	CodeKMSUnavailable = "kms_unavailable"
	// CodeAccessPolicyUnavailable: the access policy could not be read;
	// nothing is allowed until it can (503).
	CodeAccessPolicyUnavailable = "access_policy_unavailable"
)

// envelope is the body of every error answer.
type envelope struct {
	Error     errorBody `json:"error"`
	RequestID string    `json:"requestId"`
}

type errorBody struct {
	Code    string                  `json:"code"`
	Message string                  `json:"message"`
	Details []connection.FieldError `json:"details,omitempty"`
}

// requestError is a failure found by the HTTP layer itself (body, media
// type, query), before the service is called.
type requestError struct {
	status  int
	code    string
	message string
	details []connection.FieldError
}

func (e *requestError) Error() string { return e.message }

func badRequest(code, message string, details ...connection.FieldError) *requestError {
	return &requestError{status: http.StatusBadRequest, code: code, message: message, details: details}
}

// kindStatus maps a service's error kind to a status and a code.
type kindStatus struct {
	kind   error
	status int
	code   string
}

// kinds maps the services' error kinds to statuses and codes: the
// connection service's, then the managed-key service's. Datadog refusing
// the connection's key and an unusable service account are both 422 for a
// managed key: the request is well formed but cannot be served with what
// the connection and Datadog hold.
var kinds = []kindStatus{
	{connection.ErrInvalid, http.StatusBadRequest, CodeInvalidRequest},
	{connection.ErrNotFound, http.StatusNotFound, CodeNotFound},
	{connection.ErrExists, http.StatusConflict, CodeNameTaken},
	{connection.ErrPendingDeletion, http.StatusConflict, CodePendingDeletion},
	{connection.ErrRotationInProgress, http.StatusConflict, CodeRotationInProgress},
	{connection.ErrRotationDisabled, http.StatusConflict, CodeRotationNotEnabled},
	{connection.ErrTooSoon, http.StatusConflict, CodeRotationTooSoon},
	{connection.ErrKeyShared, http.StatusConflict, CodeKeyShared},
	{connection.ErrRotationUnavailable, http.StatusServiceUnavailable, CodeRotationUnavailable},
	{connection.ErrInUse, http.StatusConflict, CodeConnectionInUse},
	{connection.ErrRejected, http.StatusUnprocessableEntity, CodeCredentialsRejected},
	{connection.ErrDatadogUnavailable, http.StatusBadGateway, CodeDatadogUnavailable},
	{connection.ErrStoreUnavailable, http.StatusServiceUnavailable, CodeStoreUnavailable},
	{managedkey.ErrInvalid, http.StatusBadRequest, CodeInvalidRequest},
	{managedkey.ErrConnectionNotFound, http.StatusNotFound, CodeNotFound},
	{managedkey.ErrNotFound, http.StatusNotFound, CodeNotFound},
	{managedkey.ErrExists, http.StatusConflict, CodeNameTaken},
	{managedkey.ErrDeleted, http.StatusConflict, CodeNameTaken},
	{managedkey.ErrKeyLimit, http.StatusConflict, CodeKeyLimitReached},
	{managedkey.ErrNotAllowed, http.StatusForbidden, CodeServiceAccountNotAllowed},
	{managedkey.ErrServiceAccount, http.StatusUnprocessableEntity, CodeServiceAccountInvalid},
	{managedkey.ErrRejected, http.StatusUnprocessableEntity, CodeCredentialsRejected},
}

// kindOf returns how kinds answers the error kind kind.
func kindOf(kind error) (kindStatus, bool) {
	for _, k := range kinds {
		if errors.Is(kind, k.kind) {
			return k, true
		}
	}
	return kindStatus{}, false
}

// classify turns any error into the envelope's status, code, message and
// details. Unknown errors are bugs: they answer 500 with a fixed message,
// never their text.
func classify(err error) (int, errorBody) {
	var re *requestError
	if errors.As(err, &re) {
		return re.status, errorBody{Code: re.code, Message: re.message, Details: re.details}
	}
	var refusal *access.Refusal
	if errors.As(err, &refusal) {
		return http.StatusForbidden, errorBody{Code: CodeForbidden, Message: refusal.Why}
	}
	var se *connection.Error
	if errors.As(err, &se) {
		return classifyService(se)
	}
	return http.StatusInternalServerError, errorBody{Code: CodeInternal,
		Message: "internal error; quote the request id when reporting it"}
}

// writeError answers with the envelope and logs what the user cannot see.
// Every error answer leaves through here, so this is where its text is
// scrubbed: messages may quote Datadog, which may quote the request, and
// anything shaped like a key (logging.Scrub) is replaced.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := classify(err)
	body = scrubbed(body)
	ctx := r.Context()
	switch {
	case status == http.StatusInternalServerError:
		a.log.ErrorContext(ctx, "internal error", "err", err)
	case status >= 500:
		a.log.WarnContext(ctx, "upstream failure", "code", body.Code, "err", err)
	}
	if rec, ok := w.(*recorder); ok {
		rec.code = body.Code
	}
	a.writeJSON(w, r, status, envelope{Error: body, RequestID: logging.RequestID(ctx)})
}

// classifyService classifies a service's failure by its kind. The
// managed-key service's ErrUnavailable covers both backends; its cause
// says which, so the answer matches the rest of the API (502 for Datadog,
// 503 for Secrets Manager).
func classifyService(e *connection.Error) (int, errorBody) {
	if k, ok := kindOf(e.Kind); ok {
		return k.status, errorBody{Code: k.code, Message: e.Message, Details: e.Details}
	}
	var apiErr *datadog.APIError
	switch {
	case errors.Is(e.Err, datadog.ErrBadRequest) && errors.As(e.Err, &apiErr):
		// Datadog refused the request itself (say, a scope the service
		// account lacks): retrying cannot help, so this is no 5xx.
		return http.StatusUnprocessableEntity, errorBody{Code: CodeDatadogRejected,
			Message: "Datadog refused the request: " + strings.Join(apiErr.Messages, "; ")}
	case errors.Is(e.Err, datadog.ErrUnavailable):
		return http.StatusBadGateway, errorBody{Code: CodeDatadogUnavailable, Message: e.Message}
	case isKMSError(e.Err):
		return http.StatusServiceUnavailable, errorBody{Code: CodeKMSUnavailable, Message: e.Message}
	default:
		return http.StatusServiceUnavailable, errorBody{Code: CodeStoreUnavailable, Message: e.Message}
	}
}

// isKMSError reports whether err is a failed KMS call.
func isKMSError(err error) bool {
	var ke *kmsgrant.Error
	return errors.As(err, &ke)
}

// scrubbed returns b with every key-shaped string removed from its message
// and details.
func scrubbed(b errorBody) errorBody {
	b.Message = logging.Scrub(b.Message)
	b.Details = connection.ScrubDetails(b.Details)
	return b
}
