package managedkey

import (
	"context"
	"slices"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// A mint with a request id (an EventBridge event id) is idempotent in it,
// for deliveries that repeat: its ClientRequestToken, and so the name of the
// key it mints in Datadog, are derived from the id, and its secret is
// tagged with the id. A repeated mint finds that secret before creating
// anything: a finished one is answered from it, one in flight is waited
// for (see begin), and one whose key was since deleted is answered from its
// tombstone. One key and one secret, whatever the number of deliveries.

// tokenFor is the ClientRequestToken of a mint: derived from the request id
// when there is one, fresh otherwise.
func (s *Service) tokenFor(requestID string) string {
	if requestID == "" {
		return s.token()
	}
	return secretstore.TokenFor(requestID)
}

// withRequest tags a new secret with the request id, if any.
func withRequest(in secretstore.CreateInput, requestID string) secretstore.CreateInput {
	if requestID != "" {
		in.Tags[secretkind.TagRequestID] = requestID
	}
	return in
}

// repeat reports whether sec, found under the name of a new mint, was
// created by the same request: the request was carried out. A first
// attempt that stopped between storing the key and enabling its rotation is
// completed here: its readers are set again and its rotation enabled (best
// effort; a failure leaves rotation off, as the key's rotation state then
// shows, and the readers as the object shows them).
func (s *Service) repeat(ctx context.Context, sec secretstore.Secret, v spec) bool {
	if v.requestID == "" || sec.DeletedAt != nil || sec.Tags[secretkind.TagRequestID] != v.requestID {
		return false
	}
	_, committed := sec.CurrentVersion()
	if committed && (len(v.readers) > 0 || sec.Tags[secretkind.TagReaders] != "") {
		if err := s.setReaders(ctx, sec, v.readers); err != nil {
			s.log.WarnContext(ctx, "giving the readers a repeated mint's secret failed", "secret_arn", sec.ARN, "error", err)
		}
	}
	if committed && !sec.RotationEnabled {
		if err := s.enableRotation(ctx, sec.ARN, v.rules); err != nil {
			s.log.WarnContext(ctx, "enabling the rotation of a repeated mint failed", "secret_arn", sec.ARN, "error", err)
		}
	}
	return true
}

// normalised returns in in the one form ddconn compares and stores, whether
// it came from the HTTP API or from an event: the service account id as
// connection.ServiceAccountID writes it (when it is one), and the scopes
// sorted, each once. A key's scopes are a set of permissions; a repeated
// scope asks for nothing more, and Datadog answers with each scope once.
func (in MintInput) normalised() MintInput {
	if id, ok := connection.ServiceAccountID(in.ServiceAccountID); ok {
		in.ServiceAccountID = id
	}
	if in.Scopes != nil {
		scopes := slices.Clone(in.Scopes)
		slices.Sort(scopes)
		in.Scopes = slices.Compact(scopes)
	}
	return in
}
