package httpapi

import (
	"errors"
	"io"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/rotationstate"
)

// rotationBody is the body of PUT /connections/{name}/rotationstate.
type rotationBody struct {
	Schedule string `json:"schedule"`
	Window   string `json:"window"`
	// RotateImmediately defaults to true, as in Secrets Manager.
	RotateImmediately *bool  `json:"rotateImmediately"`
	RevokePrevious    string `json:"revokePrevious"`
	// MaxGrace and QuietPeriod are the when-unused policy's parameters.
	MaxGrace    string `json:"maxGrace"`
	QuietPeriod string `json:"quietPeriod"`
}

// decodeRotation decodes and parses a PUT …/rotation body. Every bad
// setting is named in one answer.
func decodeRotation(body io.Reader) (connection.RotationSettings, error) {
	var b rotationBody
	if err := decodeJSON(body, &b); err != nil {
		return connection.RotationSettings{}, err
	}
	var details []connection.FieldError
	rules, err := rotationstate.ParseSchedule(b.Schedule, b.Window)
	if b.Schedule == "" {
		err = &rotationstate.SettingError{Field: "schedule", Message: `is required, such as "rate(30 days)"`}
	}
	details = appendSettingError(details, err)
	policy, err := rotationstate.ParseRevokeSettings(b.RevokePrevious, b.MaxGrace, b.QuietPeriod)
	details = appendSettingError(details, err)
	if len(details) > 0 {
		return connection.RotationSettings{}, badRequest(CodeInvalidRequest, "the rotation settings are invalid", details...)
	}
	return connection.RotationSettings{
		Rules:             rules,
		RevokePrevious:    policy.Tag(),
		RotateImmediately: b.RotateImmediately == nil || *b.RotateImmediately,
	}, nil
}

// appendSettingError adds err, a *rotationstate.SettingError or nil, to details.
func appendSettingError(details []connection.FieldError, err error) []connection.FieldError {
	var se *rotationstate.SettingError
	if errors.As(err, &se) {
		return append(details, connection.FieldError{Field: se.Field, Message: se.Message})
	}
	return details
}
