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
// tagged with the id. A repeated mint then finds its secret before minting
// anything, or - when the deliveries run concurrently - mints a key, loses
// the race for the secret's name, deletes its key and finds the winner's
// secret: one key and one secret, whatever the number of deliveries.

// recordMint tags the connection's secret with the mint about to create a
// key in Datadog (secretkind.Mint): the intent the sweeper follows if
// this mint stops before the key is stored and the key has no secret to be
// found by. Nothing has been created yet, so a failure here is plain.
func (s *Service) recordMint(ctx context.Context, mgr managerOf, m secretkind.Mint) error {
	k, v := m.Tag()
	if err := s.store.Tag(ctx, mgr.secret.ARN, map[string]string{k: v}); err != nil {
		return storeFailure("recording the mint on the connection", err)
	}
	return nil
}

// endMint removes the intent once the key is stored. It is best effort: a
// tag left behind is cleared by the sweeper, which finds the secret. Mints
// that fail after creating a key keep their tag on purpose: the sweeper
// then deletes whatever key they left.
func (s *Service) endMint(ctx context.Context, mgr managerOf, m secretkind.Mint) {
	k, _ := m.Tag()
	if err := s.store.Untag(ctx, mgr.secret.ARN, []string{k}); err != nil {
		s.log.WarnContext(ctx, "removing the mint's tag from the connection failed; the sweeper will", "error", err)
	}
}

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

// repeat reports whether the secret secretName exists because of an
// earlier mint with the same request id: the request was carried out. A
// first attempt that stopped between storing the secret and enabling its
// rotation is completed here (best effort; a failure leaves rotation off,
// as the key's rotation state then shows).
func (s *Service) repeat(ctx context.Context, secretName, requestID string, rules secretstore.RotationRules) bool {
	if requestID == "" {
		return false
	}
	sec, err := s.store.Describe(ctx, secretName)
	if err != nil || sec.DeletedAt != nil || sec.Tags[secretkind.TagRequestID] != requestID {
		return false
	}
	if !sec.RotationEnabled {
		if err := s.enableRotation(ctx, sec.ARN, rules); err != nil {
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
