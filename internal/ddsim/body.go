package ddsim

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decodeJSON parses a request body into v. The message it returns is safe
// to send back: it never quotes the body, which may hold key material.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("request body is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("request body is not valid JSON for this operation")
	}
	return nil
}

// nullableScopes tells the three forms of "scopes" apart: absent (set is
// false), null (set, list nil: unscoped) and a list.
type nullableScopes struct {
	set  bool
	list []string
}

// UnmarshalJSON records that the field was present; encoding/json calls it
// for null too.
func (n *nullableScopes) UnmarshalJSON(data []byte) error {
	n.set = true
	if string(bytes.TrimSpace(data)) == "null" {
		n.list = nil
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	if list == nil {
		list = []string{}
	}
	n.list = list
	return nil
}
