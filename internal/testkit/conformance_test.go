package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAWSErrorCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ResourceNotFoundException", "ResourceNotFoundException"},
		{"com.amazonaws.secretsmanager#ResourceNotFoundException", "ResourceNotFoundException"},
		{"ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/", "ValidationException"},
		{"aws.events#ValidationException:http://x", "ValidationException"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := AWSErrorCode(tt.in); got != tt.want {
			t.Errorf("AWSErrorCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPostAWSJSON(t *testing.T) {
	var got *http.Request
	var gotBody map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &gotBody)
		if r.Header.Get("X-Amz-Target") == "svc.Broken" {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, strings.Repeat("<html>", 100))
			return
		}
		_, _ = io.WriteString(w, `{"Name":"x"}`)
	}))
	defer srv.Close()

	status, out := PostAWSJSON(t, srv.URL, "svc", "svc.Describe", map[string]any{"Id": "a"})
	if status != http.StatusOK || out["Name"] != "x" {
		t.Fatalf("answer %d %v, want 200 with Name x", status, out)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/" || got.Header.Get("X-Amz-Target") != "svc.Describe" ||
		got.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.Contains(got.Header.Get("Authorization"), "/us-east-1/svc/aws4_request") || gotBody["Id"] != "a" {
		t.Errorf("request %s %s, headers %v, body %v", got.Method, got.URL.Path, got.Header, gotBody)
	}

	status, out = PostAWSJSON(t, srv.URL, "svc", "svc.Broken", nil)
	if raw, _ := out["__raw"].(string); status != http.StatusBadGateway || !strings.HasPrefix(raw, "<html>") || len(raw) > 210 {
		t.Errorf("answer %d %v, want 502 with the first 200 bytes as __raw", status, out)
	}
}

func TestRunCases(t *testing.T) {
	var ran []int
	t.Run("table", func(t *testing.T) {
		RunCases(t, "subject", []string{"a", "skipped", "b"},
			func(c string) string { return c },
			func(c string) string {
				if c == "skipped" {
					return "known deviation"
				}
				return ""
			},
			func(_ *testing.T, i int, _ string) { ran = append(ran, i) })
	})
	if len(ran) != 2 || ran[0] != 0 || ran[1] != 2 {
		t.Errorf("ran cases %v, want 0 and 2 (1 is skipped)", ran)
	}
}
