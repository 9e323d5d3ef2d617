package testkit

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAssertNoKeyMaterial(t *testing.T) {
	const (
		apiKey = "5f1e0c3a9b7d2e4f6a8c0b1d3e5f7a9c"         // 32 characters, as Datadog's API keys
		appKey = "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b" // 40 characters, as application keys
	)
	tests := []struct {
		name   string
		output string
		keys   []string
		want   []int // the keys reported, by index
	}{
		{"clean output", `{"applicationKeyId":"k-1","last4":"1c0b"}`, []string{apiKey, appKey}, nil},
		{"a whole key", "key=" + appKey, []string{apiKey, appKey}, []int{1}},
		{"both keys", apiKey + " " + appKey, []string{apiKey, appKey}, []int{0, 1}},
		{"the first 12 characters", "prefix " + apiKey[:12] + "…", []string{apiKey}, []int{0}},
		{"the last 12 characters", "…" + appKey[28:], []string{appKey}, []int{0}},
		{"12 characters from the middle", "x" + appKey[13:25] + "x", []string{appKey}, []int{0}},
		{"every window, not only every fourth", "x" + appKey[7:19] + "x", []string{appKey}, []int{0}},
		{"11 characters are not a window", "x" + appKey[7:18] + "x", []string{appKey}, nil},
		{"last4 alone is public", `"last4":"` + appKey[36:] + `"`, []string{appKey}, nil},
		{"upper case", strings.ToUpper(apiKey), []string{apiKey}, []int{0}},
		{"a key cut in two by masking", apiKey[:14] + "****" + apiKey[18:], []string{apiKey}, []int{0}},
		{"a short key is looked for whole", "token=abc123", []string{"abc123"}, []int{0}},
		{"a short key's prefix is not", "token=abc12", []string{"abc123"}, nil},
		{"empty keys are ignored", "anything", []string{"", apiKey}, nil},
		{"no keys", apiKey, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			clean := AssertNoKeyMaterial(r, tt.output, tt.keys...)
			if clean != (len(tt.want) == 0) {
				t.Errorf("AssertNoKeyMaterial() = %v, want %v", clean, len(tt.want) == 0)
			}
			if len(r.errors) != len(tt.want) {
				t.Fatalf("%d errors %q, want keys %v reported", len(r.errors), r.errors, tt.want)
			}
			for i, k := range tt.want {
				if want := fmt.Sprintf("key %d of %d", k+1, len(tt.keys)); !strings.Contains(r.errors[i], want) {
					t.Errorf("error %q does not name %s", r.errors[i], want)
				}
			}
			for _, e := range r.errors {
				if len(findKeyMaterial(e, tt.keys)) > 0 {
					t.Errorf("the error message itself holds key material: %q", e)
				}
			}
		})
	}
}

// TestAssertNoKeyMaterialTakesBytes checks the []byte form reports as the
// string form does.
func TestAssertNoKeyMaterialTakesBytes(t *testing.T) {
	const key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	r := &recorder{}
	if AssertNoKeyMaterial(r, []byte("log: "+key[10:22]), key) || len(r.errors) != 1 {
		t.Fatalf("errors %q, want one", r.errors)
	}
	if !AssertNoKeyMaterial(t, []byte("log: nothing"), key) {
		t.Fatal("clean bytes reported")
	}
}
