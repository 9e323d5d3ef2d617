package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ddconn/ddconn/pkg/connection"
)

// MaxBodyBytes is the largest request body accepted (413 above).
const MaxBodyBytes = 16 << 10

// credentialsBody is the credentials object of a request.
type credentialsBody struct {
	URL            string `json:"url"`
	APIKey         string `json:"apiKey"`
	ApplicationKey string `json:"applicationKey"`
}

func (c *credentialsBody) input() *connection.CredentialsInput {
	if c == nil {
		return nil
	}
	return &connection.CredentialsInput{URL: c.URL, APIKey: c.APIKey, ApplicationKey: c.ApplicationKey}
}

// createBody is the body of POST /connections.
type createBody struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Method      string           `json:"method"`
	Credentials *credentialsBody `json:"credentials"`
}

// updateBody is the body of PATCH /connections/{name}; absent fields stay nil.
type updateBody struct {
	Name                   *string          `json:"name"`
	Description            *string          `json:"description"`
	Credentials            *credentialsBody `json:"credentials"`
	AllowedServiceAccounts *[]string        `json:"allowedServiceAccounts"`
}

// validateBody is the body of POST /connections/validate.
type validateBody struct {
	Credentials *credentialsBody `json:"credentials"`
}

// jsonBody checks the media type and declared size of r's body and returns
// it bounded to MaxBodyBytes.
func jsonBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	if err := checkMediaType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	return http.MaxBytesReader(w, r.Body, MaxBodyBytes), nil
}

func checkMediaType(contentType string) error {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType,
			message: "send the body as JSON with Content-Type: application/json"}
	}
	return nil
}

func tooLarge() error {
	return &requestError{status: http.StatusRequestEntityTooLarge, code: CodeBodyTooLarge,
		message: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
}

// maxFieldName bounds the unknown field names echoed back in errors.
const maxFieldName = 64

// decodeJSON decodes exactly one JSON value from body into v. Its errors name
// the offending field but never quote the input, which may hold keys.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return badRequest(CodeInvalidJSON, "the body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		mbe    *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.Is(err, io.EOF):
		return badRequest(CodeInvalidJSON, "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(CodeInvalidJSON, "the body is truncated JSON")
	case errors.As(err, &syntax):
		return badRequest(CodeInvalidJSON, fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset))
	case errors.As(err, &typ) && typ.Field == "":
		return badRequest(CodeInvalidJSON, "the body must be a JSON object")
	case errors.As(err, &typ):
		return badRequest(CodeInvalidRequest, "the request is invalid",
			connection.FieldError{Field: typ.Field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(field) > maxFieldName {
			field = field[:maxFieldName] + "…"
		}
		return badRequest(CodeInvalidRequest, "the request is invalid",
			connection.FieldError{Field: field, Message: "is not a known field"})
	default:
		return badRequest(CodeInvalidJSON, "the body could not be decoded")
	}
}

// jsonKind names a Go kind as a JSON type.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "map", "ptr":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	default:
		return "a " + goKind
	}
}

// decodeCreate decodes a create request body.
func decodeCreate(body io.Reader) (connection.CreateInput, error) {
	var b createBody
	if err := decodeJSON(body, &b); err != nil {
		return connection.CreateInput{}, err
	}
	return connection.CreateInput{Name: b.Name, Description: b.Description, Method: b.Method, Credentials: b.Credentials.input()}, nil
}

// decodeUpdate decodes a PATCH request body.
func decodeUpdate(body io.Reader) (connection.UpdateInput, error) {
	var b updateBody
	if err := decodeJSON(body, &b); err != nil {
		return connection.UpdateInput{}, err
	}
	return connection.UpdateInput{Name: b.Name, Description: b.Description, Credentials: b.Credentials.input(),
		AllowedServiceAccounts: b.AllowedServiceAccounts}, nil
}

// decodeValidate decodes a POST /connections/validate body.
func decodeValidate(body io.Reader) (connection.CredentialsInput, error) {
	var b validateBody
	if err := decodeJSON(body, &b); err != nil {
		return connection.CredentialsInput{}, err
	}
	if b.Credentials == nil {
		return connection.CredentialsInput{}, badRequest(CodeInvalidRequest, "the request is invalid",
			connection.FieldError{Field: "credentials", Message: "is required"})
	}
	return *b.Credentials.input(), nil
}
