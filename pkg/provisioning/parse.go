package provisioning

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

// Limits of a request event.
const (
	// maxDetailBytes bounds an event's detail: requests are small, and
	// EventBridge's own limit (256 KiB an entry) is far above need.
	maxDetailBytes = 16 << 10
	// maxEventIDLength bounds the event id, which becomes a tag value.
	maxEventIDLength = 64
)

// CreateConnectionDetail is the detail of a "Create Connection" request.
// The keys come from a staging secret the caller wrote, never from the
// event itself.
type CreateConnectionDetail struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Team is the team the connection belongs to, as in POST /connections;
	// the credentials secret must then be under the team's staging path,
	// Prefix + StagingPrefix + Team + "/".
	Team string `json:"team"`
	// URL is the Datadog site, as in POST /connections.
	URL string `json:"url"`
	// CredentialsSecretARN is the ARN of the staging secret holding
	// {"apiKey":"…","applicationKey":"…"}; its name must start with the
	// connection secret prefix followed by StagingPrefix.
	CredentialsSecretARN string `json:"credentialsSecretArn"`
	// DeleteSourceSecret deletes the staging secret, without a recovery
	// window, once the connection holds the keys.
	DeleteSourceSecret bool `json:"deleteSourceSecret"`
}

// ProvisionApplicationKeyDetail is the detail of a "Provision Application
// Key" request: the body of POST /connections/{name}/application-keys plus
// the connection's name.
type ProvisionApplicationKeyDetail struct {
	Connection string `json:"connection"`
	managedkey.MintInput
}

// ProvisionAPIKeyDetail is the detail of a "Provision API Key" request:
// the body of POST /connections/{name}/api-keys plus the connection's name.
type ProvisionAPIKeyDetail struct {
	Connection string `json:"connection"`
	managedkey.APIKeyInput
}

// Kinds of managed key in a "Delete Managed Key" request.
const (
	KindApplicationKey = "application-key"
	KindAPIKey         = "api-key"
)

// DeleteManagedKeyDetail is the detail of a "Delete Managed Key" request.
type DeleteManagedKeyDetail struct {
	Connection string `json:"connection"`
	// Kind is KindApplicationKey or KindAPIKey.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// KeepKeys leaves the keys in Datadog (?keepKeys=true in the API).
	KeepKeys bool `json:"keepKeys"`
}

// request is a checked request event: id, detail type and decoded detail
// (one of the *Detail types).
type request struct {
	id, detailType string
	detail         any
}

// parse checks an event's envelope and decodes its detail strictly:
// unknown fields, trailing data and oversize details are refused, so a
// typo never silently changes what is provisioned.
func parse(ev events.EventBridgeEvent) (request, error) {
	var problems []connection.FieldError
	if !validEventID(ev.ID) {
		problems = append(problems, connection.FieldError{Field: "id",
			Message: fmt.Sprintf("must be 1–%d letters, digits and '-' (EventBridge sets a UUID)", maxEventIDLength)})
	}
	if ev.Source != RequestSource {
		problems = append(problems, connection.FieldError{Field: "source", Message: fmt.Sprintf("must be %q", RequestSource)})
	}
	detail := detailFor(ev.DetailType)
	if detail == nil {
		problems = append(problems, connection.FieldError{Field: "detail-type",
			Message: fmt.Sprintf("must be one of %q", RequestTypes)})
	}
	if len(problems) > 0 {
		return request{}, invalidEvent(problems...)
	}
	if err := decodeDetail(ev.Detail, detail); err != nil {
		return request{}, err
	}
	return request{id: ev.ID, detailType: ev.DetailType, detail: detail}, nil
}

// detailFor is a pointer to a new detail of the request type, or nil.
func detailFor(detailType string) any {
	switch detailType {
	case CreateConnection:
		return &CreateConnectionDetail{}
	case ProvisionApplicationKey:
		return &ProvisionApplicationKeyDetail{}
	case ProvisionAPIKey:
		return &ProvisionAPIKeyDetail{}
	case DeleteManagedKey:
		return &DeleteManagedKeyDetail{}
	}
	return nil
}

func validEventID(id string) bool {
	if id == "" || len(id) > maxEventIDLength {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	})
}

// decodeDetail decodes raw into v. Its errors name the field, never the
// value (a misplaced key must not end up in an event or a log).
func decodeDetail(raw json.RawMessage, v any) error {
	if len(raw) > maxDetailBytes {
		return invalidEvent(connection.FieldError{Field: "detail", Message: fmt.Sprintf("must be at most %d bytes", maxDetailBytes)})
	}
	if len(bytes.TrimSpace(raw)) == 0 || raw[0] != '{' {
		return invalidEvent(connection.FieldError{Field: "detail", Message: "must be a JSON object"})
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		return invalidEvent(decodeProblem(err))
	}
	return nil
}

// maxEchoedField bounds an unknown field name quoted back: shorter than
// any Datadog key, so a key pasted as a field name is never repeated.
const maxEchoedField = 24

// decodeProblem describes a decoding error by field and expected type only.
func decodeProblem(err error) connection.FieldError {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return connection.FieldError{Field: "detail." + typeErr.Field, Message: "must be a JSON " + jsonType(typeErr.Type.Kind().String())}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(field) > maxEchoedField {
			return connection.FieldError{Field: "detail", Message: "has a field that is not part of the request (its name is too long to repeat)"}
		}
		return connection.FieldError{Field: "detail." + field, Message: "is not a field of the request"}
	}
	return connection.FieldError{Field: "detail", Message: "is not a valid JSON object"}
}

// jsonType names a Go kind as a JSON type.
func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return "number"
}
