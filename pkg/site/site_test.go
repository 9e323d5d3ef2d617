package site

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want string // site name
	}{
		{"https://api.datadoghq.com", "US1"},
		{"https://api.us3.datadoghq.com", "US3"},
		{"https://api.us5.datadoghq.com", "US5"},
		{"https://api.datadoghq.eu", "EU"},
		{"https://api.ap1.datadoghq.com", "AP1"},
		{"https://api.ap2.datadoghq.com", "AP2"},
		{"https://api.uk1.datadoghq.com", "UK1"},
		{"https://api.ddog-gov.com", "US1-FED"},
		{"https://api.us2.ddog-gov.com", "US2-FED"},
		{"us5.datadoghq.com", "US5"},
		{"https://app.datadoghq.eu", "EU"},
		{"https://us3.datadoghq.com/", "US3"},
		{"app.datadoghq.com", "US1"},
		{"datadoghq.com", "US1"},
		{"HTTPS://API.US5.DATADOGHQ.COM", "US5"},
		{"  https://api.datadoghq.com/  ", "US1"},
		{"api.ddog-gov.com", "US1-FED"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.in, err)
			}
			if got.Name != tt.want {
				t.Fatalf("Parse(%q) = %s, want %s", tt.in, got.Name, tt.want)
			}
			if !strings.HasPrefix(got.URL(), "https://api.") {
				t.Fatalf("URL() = %q, want an https API URL", got.URL())
			}
		})
	}
}

// hostile is the SSRF table: every entry must be refused.
var hostile = []string{
	"",
	"   ",
	"http://api.datadoghq.com",
	"ftp://api.datadoghq.com",
	"file:///etc/passwd",
	"gopher://api.datadoghq.com",
	"javascript:alert(1)",
	"//api.datadoghq.com",
	"https://user:pass@api.datadoghq.com",
	"https://api.datadoghq.com@evil.example",
	"https://evil.example#@api.datadoghq.com",
	"https://api.datadoghq.com:443",
	"https://api.datadoghq.com:8443",
	"https://api.datadoghq.com:",
	"https://api.datadoghq.com/api/v1/validate",
	"https://api.datadoghq.com/..",
	"https://api.datadoghq.com?x=1",
	"https://api.datadoghq.com/?",
	"https://api.datadoghq.com#frag",
	"https://api.datadoghq.com.",
	"https://api.datadoghq.com.evil.example",
	"https://evil-datadoghq.com",
	"https://datadoghq.com.evil.example",
	"https://api.datadoghq.co",
	"https://api.datadoghq.com.",
	"https://api.datadoghq.community",
	"https://xn--datadoghq-xyz.com",
	"https://api.dаtadoghq.com", // Cyrillic a
	"https://127.0.0.1",
	"https://169.254.169.254",
	"https://[::1]",
	"https://[fd00:ec2::254]",
	"https://2130706433",
	"https://0x7f000001",
	"https://localhost",
	"https://metadata.google.internal",
	"https://api.datadoghq.com%2f.evil.example",
	"https://api.datadoghq.com\\@evil.example",
	"https://api.datadog\thq.com",
	"https://api.datadoghq.com\r\nHost: evil",
	"https://www.datadoghq.com",
	"https://api.app.datadoghq.com",
	"https://api.us4.datadoghq.com",
	"localhost:4580",
	"mailto:a@api.datadoghq.com",
	"https://" + strings.Repeat("a", 300) + ".datadoghq.com",
}

func TestParseRefusesHostileURLs(t *testing.T) {
	for _, in := range hostile {
		t.Run(in, func(t *testing.T) {
			s, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want refusal", in, s.Name)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not *site.Error", err)
			}
			if len(in) > 3 && strings.Contains(se.Reason, in) {
				t.Fatalf("error repeats the input: %v", err)
			}
		})
	}
}

func TestParseReasons(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"http://api.datadoghq.com", "scheme"},
		{"https://u:p@api.datadoghq.com", "user information"},
		{"https://api.datadoghq.com:443", "port"},
		{"https://api.datadoghq.com/x", "path"},
		{"https://api.datadoghq.com?q", "query"},
		{"https://api.datadoghq.com#f", "fragment"},
		{"https://10.0.0.1", "IP"},
		{"https://api.datadoghq.com.", "trailing dot"},
		{"https://api.datadoghq.evil", "not a Datadog site"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Parse(%q) = %v, want reason containing %q", tt.in, err, tt.reason)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	for _, s := range All() {
		if got, ok := ByParam(s.Param); !ok || got != s {
			t.Errorf("ByParam(%q) = %v, %v", s.Param, got, ok)
		}
		if got, ok := ByName(strings.ToLower(s.Name)); !ok || got != s {
			t.Errorf("ByName(%q) = %v, %v", s.Name, got, ok)
		}
		if got, err := Parse(s.URL()); err != nil || got != s {
			t.Errorf("Parse(%q) = %v, %v", s.URL(), got, err)
		}
	}
	if _, ok := ByParam("evil.example"); ok {
		t.Error("ByParam accepted an unknown site")
	}
}

// FuzzParse checks that whatever Parse accepts is an allow-listed site whose
// canonical URL parses back to itself.
func FuzzParse(f *testing.F) {
	for _, s := range All() {
		f.Add(s.URL())
		f.Add(s.Param)
	}
	for _, h := range hostile {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		if _, ok := ByParam(s.Param); !ok {
			t.Fatalf("Parse accepted %q as unknown site %q", in, s.Param)
		}
		if back, err := Parse(s.URL()); err != nil || back != s {
			t.Fatalf("canonical URL %q does not round-trip: %v %v", s.URL(), back, err)
		}
	})
}
