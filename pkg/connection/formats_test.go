package connection

import (
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/secretkind"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) bool
		in    string
		want  bool
	}{
		{"name", secretkind.ValidName, "prod-us5", true},
		{"name one char", secretkind.ValidName, "a", true},
		{"name 64", secretkind.ValidName, strings.Repeat("a", 64), true},
		{"name 65", secretkind.ValidName, strings.Repeat("a", 65), false},
		{"name empty", secretkind.ValidName, "", false},
		{"name leading dash", secretkind.ValidName, "-a", false},
		{"name trailing dash", secretkind.ValidName, "a-", false},
		{"name upper", secretkind.ValidName, "Prod", false},
		{"name slash", secretkind.ValidName, "a/b", false},
		{"name non-ASCII", secretkind.ValidName, "prød", false},
		{"api key", validAPIKey, strings.Repeat("d0", 16), true},
		{"api key upper hex", validAPIKey, strings.Repeat("D0", 16), true},
		{"api key 31", validAPIKey, strings.Repeat("d", 31), false},
		{"api key not hex", validAPIKey, strings.Repeat("g", 32), false},
		{"app key", validAppKey, strings.Repeat("a1", 20), true},
		{"app key mixed case", validAppKey, strings.Repeat("aZ", 20), true},
		{"app key 41", validAppKey, strings.Repeat("a", 41), false},
		{"app key dash", validAppKey, strings.Repeat("a", 39) + "-", false},
		{"uuid", validUUID, "00000000-0000-4000-8000-0000000000a1", true},
		{"uuid upper", validUUID, "00000000-0000-4000-8000-0000000000A1", false},
		{"uuid no dashes", validUUID, "000000000000400080000000000000a1", false},
		{"uuid dash moved", validUUID, "0000000-00000-4000-8000-0000000000a1", false},
		{"uuid not hex", validUUID, "00000000-0000-4000-8000-0000000000g1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(tt.in); got != tt.want {
				t.Fatalf("check(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
