package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/connection"
)

// maxBodyBytes is the largest request body accepted (413 above).
const maxBodyBytes = 16 << 10

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
	Team        string           `json:"team"`
	Method      string           `json:"method"`
	Credentials *credentialsBody `json:"credentials"`
}

// updateBody is the body of PATCH /connections/{name}; absent fields stay nil.
type updateBody struct {
	Name                   *string          `json:"name"`
	Description            *string          `json:"description"`
	Team                   *string          `json:"team"`
	Credentials            *credentialsBody `json:"credentials"`
	AllowedServiceAccounts *[]string        `json:"allowedServiceAccounts"`
}

// validateBody is the body of POST /connections/validate.
type validateBody struct {
	Credentials *credentialsBody `json:"credentials"`
}

// jsonBody checks the media type and declared size of r's body and returns
// it bounded to maxBodyBytes.
func jsonBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	if err := checkMediaType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if r.ContentLength > maxBodyBytes {
		return nil, tooLarge()
	}
	return http.MaxBytesReader(w, r.Body, maxBodyBytes), nil
}

// checkMediaType accepts JSON media types in UTF-8, the only encoding JSON
// allows between systems (RFC 8259); a charset parameter must say so.
func checkMediaType(contentType string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType,
			message: "send the body as JSON with Content-Type: application/json"}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &requestError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType,
			message: "send the body as UTF-8 JSON: the only charset accepted is utf-8"}
	}
	return nil
}

func tooLarge() error {
	return &requestError{status: http.StatusRequestEntityTooLarge, code: CodeBodyTooLarge,
		message: fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
}

// decodeJSON decodes exactly one JSON object from body into v, a pointer to
// a struct. Field names must match v's json names exactly (encoding/json
// alone would match them case-insensitively) and appear at most once
// (encoding/json alone would keep the last). Errors name our own fields but
// never quote the input, which may hold keys.
func decodeJSON(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return badRequest(CodeInvalidJSON, "the body could not be read")
	}
	if json.Valid(data) {
		if fe := checkFields(json.NewDecoder(bytes.NewReader(data)), reflect.TypeOf(v), ""); fe != nil {
			return badRequest(CodeInvalidRequest, "the request is invalid", *fe)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
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
		// typ.Field is the path of one of our own fields: a type error
		// needs a field the target type knows.
		return badRequest(CodeInvalidRequest, "the request is invalid",
			connection.FieldError{Field: typ.Field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// checkFields reports unknown fields first; this is a second
		// guard, and the field's name, which is input, is not repeated.
		return badRequest(CodeInvalidRequest, "the request is invalid",
			connection.FieldError{Field: bodyField, Message: "has a field that is not a known field"})
	default:
		return badRequest(CodeInvalidJSON, "the body could not be decoded")
	}
}

// bodyField names the body as a whole in a FieldError.
const bodyField = "body"

// checkFields walks the next JSON value of dec, valid JSON that decodes
// into a value of type t, and reports the first object member whose name is not exactly
// one of t's json field names, or that repeats one. Unknown names are
// reported by the object that holds them (bodyField at the top), never by
// themselves: a name is input, and input may be a pasted key.
func checkFields(dec *json.Decoder, t reflect.Type, path string) *connection.FieldError {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('{'):
		return checkObject(dec, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if fe := checkFields(dec, elem, fmt.Sprintf("%s[%d]", path, i)); fe != nil {
				return fe
			}
		}
		_, _ = dec.Token() // ']'
	}
	return nil
}

// checkObject checks the members of an object whose '{' was just read.
// Objects that do not decode into a struct (a type error caught before
// the walk) are skipped.
func checkObject(dec *json.Decoder, t reflect.Type, path string) *connection.FieldError {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := tok.(string)
		var ft reflect.Type
		if fields != nil {
			var ok bool
			if ft, ok = fields[name]; !ok {
				return unknownField(fields, name, path)
			}
			if seen[name] {
				return &connection.FieldError{Field: join(path, name), Message: "appears more than once"}
			}
			seen[name] = true
		}
		if fe := checkFields(dec, ft, join(path, name)); fe != nil {
			return fe
		}
	}
	_, _ = dec.Token() // '}'
	return nil
}

// unknownField reports a member name that is not one of fields: as a
// misspelling of a known field when it differs only in case, otherwise
// by the object that holds it.
func unknownField(fields map[string]reflect.Type, name, path string) *connection.FieldError {
	known := slices.Sorted(maps.Keys(fields))
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return &connection.FieldError{Field: join(path, k),
				Message: fmt.Sprintf("must be spelled exactly %q: field names are case-sensitive", k)}
		}
	}
	field := path
	if field == "" {
		field = bodyField
	}
	return &connection.FieldError{Field: field,
		Message: "has a field that is not a known field; the known fields are " + strings.Join(known, ", ")}
}

// jsonFields maps the json names of struct type t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
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
	return connection.CreateInput{Name: b.Name, Description: b.Description, Team: b.Team, Method: b.Method, Credentials: b.Credentials.input()}, nil
}

// decodeUpdate decodes a PATCH request body.
func decodeUpdate(body io.Reader) (connection.UpdateInput, error) {
	var b updateBody
	if err := decodeJSON(body, &b); err != nil {
		return connection.UpdateInput{}, err
	}
	return connection.UpdateInput{Name: b.Name, Description: b.Description, Team: b.Team, Credentials: b.Credentials.input(),
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
