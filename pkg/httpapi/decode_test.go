package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/site"
)

func TestDecodeCreate(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantCode   string // "" = success
		wantField  string
		wantStatus int
	}{
		{"full body", `{"name":"prod-us5","description":"d","method":"api-key","credentials":{"url":"us5.datadoghq.com","apiKey":"k","applicationKey":"a"}}`, "", "", 0},
		{"minimal", `{"name":"a"}`, "", "", 0},
		{"trailing newline", "{\"name\":\"a\"}\n", "", "", 0},
		{"unknown top field", `{"name":"a","colour":"red"}`, CodeInvalidRequest, "body", 400},
		{"unknown credentials field", `{"name":"a","credentials":{"url":"x","token":"y"}}`, CodeInvalidRequest, "credentials", 400},
		{"duplicate field", `{"name":"a","name":"b"}`, CodeInvalidRequest, "name", 400},
		{"field in another case", `{"Name":"a"}`, CodeInvalidRequest, "name", 400},
		{"nested field in another case", `{"credentials":{"applicationkey":"a"}}`, CodeInvalidRequest, "credentials.applicationKey", 400},
		{"wrong type", `{"name":1}`, CodeInvalidRequest, "name", 400},
		{"wrong nested type", `{"credentials":{"url":["x"]}}`, CodeInvalidRequest, "credentials.url", 400},
		{"credentials not an object", `{"credentials":"x"}`, CodeInvalidRequest, "credentials", 400},
		{"array body", `[1,2]`, CodeInvalidJSON, "", 400},
		{"string body", `"hello"`, CodeInvalidJSON, "", 400},
		{"empty body", ``, CodeInvalidJSON, "", 400},
		{"syntax error", `{"name":}`, CodeInvalidJSON, "", 400},
		{"truncated", `{"name":"a"`, CodeInvalidJSON, "", 400},
		{"two objects", `{"name":"a"}{"name":"b"}`, CodeInvalidJSON, "", 400},
		{"trailing garbage", `{"name":"a"} x`, CodeInvalidJSON, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeCreate(strings.NewReader(tt.body))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("decodeCreate = %v, want success", err)
				}
				return
			}
			var re *requestError
			if !errors.As(err, &re) || re.code != tt.wantCode || re.status != tt.wantStatus {
				t.Fatalf("decodeCreate = %#v, want code %s status %d", err, tt.wantCode, tt.wantStatus)
			}
			var got []string
			for _, d := range re.details {
				got = append(got, d.Field)
			}
			if tt.wantField != "" && !slices.Equal(got, []string{tt.wantField}) {
				t.Fatalf("details fields = %v, want [%s]", got, tt.wantField)
			}
		})
	}
}

func TestDecodeUpdateKeepsAbsentFieldsNil(t *testing.T) {
	in, err := decodeUpdate(strings.NewReader(`{"description":""}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Description == nil || *in.Description != "" || in.Credentials != nil || in.Name != nil {
		t.Fatalf("decodeUpdate = %+v, want only an empty description", in)
	}
}

func TestCheckMediaType(t *testing.T) {
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8", "Application/JSON", "application/merge-patch+json"} {
		if err := checkMediaType(ct); err != nil {
			t.Errorf("checkMediaType(%q) = %v, want nil", ct, err)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "json", "application/jsonp",
		"application/json; charset=latin1", "application/json; charset=utf-16"} {
		var re *requestError
		if err := checkMediaType(ct); !errors.As(err, &re) || re.status != http.StatusUnsupportedMediaType {
			t.Errorf("checkMediaType(%q) = %v, want 415", ct, err)
		}
	}
}

// createFields are the fields a create request's errors may name.
var createFields = []string{"body", "name", "description", "method",
	"credentials", "credentials.url", "credentials.apiKey", "credentials.applicationKey"}

// FuzzDecodeCreate feeds arbitrary bodies to the create decoder and the URL
// normaliser behind it. Invariants: no panic; every failure is a 400 or 413
// envelope error of bounded size; an accepted URL always normalises to an
// allow-listed Datadog API URL, and normalising is idempotent.
func FuzzDecodeCreate(f *testing.F) {
	// The committed corpus is in testdata/fuzz/FuzzDecodeCreate.
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeCreate(strings.NewReader(string(body)))
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || (re.status != http.StatusBadRequest && re.status != http.StatusRequestEntityTooLarge) {
				t.Fatalf("decode error %#v is not a 400/413 request error", err)
			}
			if len(re.message) > 200 || len(re.details) > 1 {
				t.Fatalf("decode error too large: %q %v", re.message, re.details)
			}
			// A detail names one of our own fields, never the input's.
			for _, d := range re.details {
				if !slices.Contains(createFields, d.Field) {
					t.Fatalf("detail names %q, not a field of the request", d.Field)
				}
			}
			return
		}
		if in.Credentials == nil {
			return
		}
		checkNormalised(t, in.Credentials)
	})
}

// checkNormalised asserts the URL invariants for one decoded credentials.
func checkNormalised(t *testing.T, c *connection.CredentialsInput) {
	t.Helper()
	s, err := site.Parse(c.URL)
	if err != nil {
		var se *site.Error
		if !errors.As(err, &se) {
			t.Fatalf("site.Parse error %T is not a *site.Error", err)
		}
		return
	}
	if !slices.Contains(site.All(), s) {
		t.Fatalf("site.Parse(%q) = %+v, not in the allow-list", c.URL, s)
	}
	again, err := site.Parse(s.URL())
	if err != nil || again != s {
		t.Fatalf("normalising is not idempotent: %q → %s → %+v, %v", c.URL, s.URL(), again, err)
	}
	if !strings.HasPrefix(s.URL(), "https://api.") || strings.ContainsAny(s.URL()[len("https://"):], ":/@?#") {
		t.Fatalf("normalised URL %q is not a bare https API host", s.URL())
	}
}

// FuzzNormaliseURL fuzzes the credentials URL alone (the SSRF guard), which
// mutates faster than whole bodies. Corpus: testdata/fuzz/FuzzNormaliseURL.
func FuzzNormaliseURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, url string) {
		checkNormalised(t, &connection.CredentialsInput{URL: url})
	})
}
