package connection

import (
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// TestLowKeyHeadroomWarns: the sweeper's mark shows as a warning on the
// Connection object, saying how many keys are left and what to do.
func TestLowKeyHeadroomWarns(t *testing.T) {
	s := New(nil, nil, Options{})
	sec := secretstore.Secret{Tags: map[string]string{secretkind.TagLowKeyHeadroom: "3 of 50", secretkind.TagKeyLookup: "found"}}
	c := s.connectionFrom("prod", sec, nil)
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "3 of 50") || !strings.Contains(c.Warnings[0], "revoke unused keys") {
		t.Fatalf("warnings %q, want one naming the 3 of 50 keys left and what to do", c.Warnings)
	}
	delete(sec.Tags, secretkind.TagLowKeyHeadroom)
	if c := s.connectionFrom("prod", sec, nil); len(c.Warnings) != 0 {
		t.Fatalf("warnings %q without the mark", c.Warnings)
	}
}
