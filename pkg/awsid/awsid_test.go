package awsid

import "testing"

func TestIsAccountID(t *testing.T) {
	for s, want := range map[string]bool{
		"123456789012":  true,
		"000000000000":  true,
		"12345678901":   false,
		"1234567890123": false,
		"12345678901a":  false,
		"":              false,
		" 23456789012":  false,
	} {
		if got := IsAccountID(s); got != want {
			t.Errorf("IsAccountID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestIsEventBusName(t *testing.T) {
	for s, want := range map[string]bool{
		"default":           true,
		"team-a.requests_1": true,
		"":                  false,
		"team/a":            false,
		"team a":            false,
		"é":                 false,
	} {
		if got := IsEventBusName(s); got != want {
			t.Errorf("IsEventBusName(%q) = %v, want %v", s, got, want)
		}
	}
}
