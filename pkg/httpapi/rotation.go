package httpapi

import (
	"errors"
	"io"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// rotationBody is the body of PUT /connections/{name}/rotation.
type rotationBody struct {
	Schedule string `json:"schedule"`
	Window   string `json:"window"`
	// RotateImmediately defaults to true, as in Secrets Manager.
	RotateImmediately *bool  `json:"rotateImmediately"`
	RevokePrevious    string `json:"revokePrevious"`
}

// decodeRotation decodes and parses a PUT …/rotation body. Every bad
// setting is named in one answer.
func decodeRotation(body io.Reader) (connection.RotationSettings, error) {
	var b rotationBody
	if err := decodeJSON(body, &b); err != nil {
		return connection.RotationSettings{}, err
	}
	var details []connection.FieldError
	rules, err := rotation.ParseSchedule(b.Schedule, b.Window)
	if b.Schedule == "" {
		err = &rotation.SettingError{Field: "schedule", Message: `is required, such as "rate(30 days)"`}
	}
	details = appendSettingError(details, err)
	policy, err := rotation.ParseRevokePolicy(b.RevokePrevious)
	details = appendSettingError(details, err)
	if len(details) > 0 {
		return connection.RotationSettings{}, badRequest(CodeInvalidRequest, "the rotation settings are invalid", details...)
	}
	return connection.RotationSettings{
		Rules:             rules,
		RevokePrevious:    policy.String(),
		RotateImmediately: b.RotateImmediately == nil || *b.RotateImmediately,
	}, nil
}

// appendSettingError adds err, a *rotation.SettingError or nil, to details.
func appendSettingError(details []connection.FieldError, err error) []connection.FieldError {
	var se *rotation.SettingError
	if errors.As(err, &se) {
		return append(details, connection.FieldError{Field: se.Field, Message: se.Message})
	}
	return details
}

// RotationState describes a secret's rotation for the Connection object:
// rotation.StateOf in the connection package's terms. Give it to
// connection.Options.RotationState (package connection cannot import
// package rotation, which imports it).
func RotationState(sec secretstore.Secret) connection.Rotation {
	st := rotation.StateOf(sec)
	r := connection.Rotation{
		Enabled:        st.Enabled,
		Schedule:       st.Schedule,
		Window:         st.Window,
		RevokePrevious: st.RevokePrevious,
		LastRotatedAt:  st.LastRotatedAt,
		NextRotationAt: st.NextRotationAt,
		InProgress:     st.InProgress,
		LastError:      st.LastError,
		LastWarning:    st.LastWarning,
		CurrentKeyID:   st.CurrentKeyID,
		PreviousKeyID:  st.PreviousKeyID,
		RevokeByHand:   st.RevokeByHand,
	}
	for _, p := range st.PendingRevocations {
		r.PendingRevocations = append(r.PendingRevocations, connection.PendingRevocation{KeyID: p.KeyID, DueAt: p.DueAt})
	}
	return r
}
