package provisioning

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

func TestFailureOf(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantReason  string
		wantMessage string
	}{
		{"connection exists", &connection.Error{Kind: connection.ErrExists, Message: `connection "a" already exists`}, ReasonAlreadyExists, `connection "a" already exists`},
		{"keys rejected", &connection.Error{Kind: connection.ErrRejected, Message: "Datadog rejected the API key"}, ReasonCredentialsRejected, "Datadog rejected the API key"},
		{"datadog down", &connection.Error{Kind: connection.ErrDatadogUnavailable, Message: "Datadog is unavailable"}, ReasonUnavailable, "Datadog is unavailable" + retryingSuffix},
		{"store down", &connection.Error{Kind: connection.ErrStoreUnavailable, Message: "Secrets Manager is unavailable"}, ReasonUnavailable, "Secrets Manager is unavailable" + retryingSuffix},
		{"pending deletion", &connection.Error{Kind: connection.ErrPendingDeletion, Message: "scheduled"}, ReasonPendingDeletion, "scheduled"},
		{"no connection", &managedkey.Error{Kind: managedkey.ErrConnectionNotFound, Message: "connection not found"}, ReasonConnectionNotFound, "connection not found"},
		{"not allowed", &managedkey.Error{Kind: managedkey.ErrNotAllowed, Message: "not allowed"}, ReasonServiceAccountNotAllowed, "not allowed"},
		{"disabled account", &managedkey.Error{Kind: managedkey.ErrServiceAccount, Message: "disabled"}, ReasonServiceAccountUnusable, "disabled"},
		{"missing permission", &managedkey.Error{Kind: managedkey.ErrRejected, Message: "rejected"}, ReasonPermissionDenied, "rejected"},
		{"key exists", &managedkey.Error{Kind: managedkey.ErrExists, Message: "a managed key of that name exists"}, ReasonAlreadyExists, "a managed key of that name exists"},
		{"invalid mint", &managedkey.Error{Kind: managedkey.ErrInvalid, Message: "the request is invalid"}, ReasonInvalidRequest, "the request is invalid"},
		{"wrapped", fmt.Errorf("minting: %w", &managedkey.Error{Kind: managedkey.ErrUnavailable, Message: "down"}), ReasonUnavailable, "down" + retryingSuffix},
		{"anything else", errors.New("panic-ish detail with a secret inside"), ReasonInternal, internalMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failureOf(tt.err)
			if f.reason != tt.wantReason || f.message != tt.wantMessage {
				t.Fatalf("failureOf = %q %q, want %q %q", f.reason, f.message, tt.wantReason, tt.wantMessage)
			}
			if strings.Contains(f.message, "secret inside") {
				t.Fatal("an unexpected error's text reached the message")
			}
			if logged := f.Error(); strings.Count(logged, tt.err.Error()) != 1 {
				t.Fatalf("the logged error %q does not hold the cause exactly once", logged)
			}
		})
	}
}
