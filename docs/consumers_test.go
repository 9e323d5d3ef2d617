package docs_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/rotation"
)

// detailFields are the JSON names of a detail type's fields, embedded
// structs flattened.
func detailFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, detailFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// TestConsumerRecipesMatchEvents: consumers.md's example Key Rotated event
// decodes as the rotate function's detail, field for field, and every
// EventBridge pattern it shows matches on fields that detail has.
func TestConsumerRecipesMatchEvents(t *testing.T) {
	blocks, err := readBlocks("consumers.md")
	if err != nil {
		t.Fatal(err)
	}
	fields := detailFields(reflect.TypeFor[rotation.Rotated]())
	var examples, patterns int
	for _, b := range blocks {
		if b.lang != "json" {
			continue
		}
		var ev struct {
			Source     any             `json:"source"`
			DetailType any             `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal([]byte(b.text), &ev); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		switch ev.Source.(type) {
		case string: // an event
			examples++
			if ev.Source != "ddconn" || ev.DetailType != rotation.RotatedEvent {
				t.Errorf("%s: an example of %v from %v, want Key Rotated from ddconn", b, ev.DetailType, ev.Source)
			}
			dec := json.NewDecoder(bytes.NewReader(ev.Detail))
			dec.DisallowUnknownFields()
			var d rotation.Rotated
			if err := dec.Decode(&d); err != nil {
				t.Errorf("%s: the example detail is not a Key Rotated detail: %v", b, err)
			}
			var got map[string]any
			_ = json.Unmarshal(ev.Detail, &got)
			for _, f := range fields {
				if _, ok := got[f]; !ok && f != "name" {
					t.Errorf("%s: the example detail lacks %q", b, f)
				}
			}
		case []any: // a pattern
			patterns++
			var detail map[string]any
			_ = json.Unmarshal(ev.Detail, &detail)
			rolledBack := detailFields(reflect.TypeFor[rotation.RolledBack]())
			for k := range detail {
				if !slices.Contains(fields, k) || !slices.Contains(rolledBack, k) {
					t.Errorf("%s: the pattern matches detail.%s, which Key Rotated or Rotation Rolled Back does not have", b, k)
				}
			}
			if !slices.Contains(anySlice(ev.DetailType), rotation.RotatedEvent) {
				t.Errorf("%s: the pattern does not match Key Rotated", b)
			}
		}
	}
	if examples == 0 || patterns == 0 {
		t.Fatalf("consumers.md has %d example events and %d patterns, want both", examples, patterns)
	}
}

func anySlice(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
