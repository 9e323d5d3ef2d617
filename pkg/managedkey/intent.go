package managedkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// A mint records its intent in the store it commits to, before it creates
// anything in Datadog: the managed key's own secret, created without a
// value and tagged with the mint's token (secretkind.TagMintToken). The key
// it then creates is named after that token; storing the key as the
// secret's first version (AWSCURRENT) is the commit. So every mint in
// flight, or abandoned by a crash, is a managed key's secret without a
// current version: it holds the name (a second mint of it answers 409, a
// delete of the connection answers connection_in_use), it costs no tag on
// the connection, and its recovery is exact: revoke the key named after the
// token, then delete the secret (secretkind.RollBackMint; the sweeper does it for
// mints older than MinAge).

// commitWait bounds how long a repeated delivery waits for the mint of the
// same request, running concurrently, to commit before answering
// ErrUnavailable (retryable).
const commitWait = 20 * time.Second

// commitPoll is how often that wait looks again.
const commitPoll = 100 * time.Millisecond

// begin records the mint's intent. When the name is taken it answers the
// repeat of a request that was carried out (or waits for the one in
// flight), rolls back an abandoned mint of the same name and tries again,
// or fails with ErrExists.
func (s *Service) begin(ctx context.Context, v spec, mgr managerOf, token string) (secretstore.Secret, *record, error) {
	tags := map[string]string{
		secretkind.TagManagedBy:  secretkind.ManagedBy,
		secretkind.TagKind:       v.name.Kind.Segment(),
		secretkind.TagConnection: v.name.Connection,
		secretkind.TagMintToken:  token,
	}
	if v.policy != "" {
		tags[secretkind.TagRevokePrevious] = v.policy
	}
	maps.Copy(tags, v.formatTags(mgr))
	if v.name.Kind == secretkind.AppKey {
		tags[secretkind.TagServiceAccountID] = v.serviceAccountID
		tags[secretkind.TagIncludeAPIKey] = fmt.Sprint(v.includeAPIKey)
	}
	in := withRequest(secretstore.CreateInput{
		Name:        v.name.SecretName(s.opts.Prefix),
		Description: fmt.Sprintf("ddconn managed %s %s of connection %s", v.name.Kind.Noun(), v.name.Key, v.name.Connection),
		KMSKeyID:    s.opts.KMSKeyID, Tags: tags,
	}, v.requestID)
	for attempt := 0; ; attempt++ {
		sec, err := s.store.Create(ctx, in)
		if err == nil {
			sec.Tags = in.Tags // what the rollback reads
			return sec, nil, nil
		}
		if !errors.Is(err, secretstore.ErrExists) {
			return secretstore.Secret{}, nil, storeFailure("recording the mint", err)
		}
		held, err := s.store.Describe(ctx, in.Name)
		if err != nil {
			return secretstore.Secret{}, nil, storeFailure("reading the managed key that holds the name", err)
		}
		if s.repeat(ctx, held, v) {
			r, err := s.awaitCommit(ctx, v.name)
			return secretstore.Secret{}, &r, err
		}
		if s.rotationUnfinished(held, v) {
			r, err := s.finishRotation(ctx, v, held)
			return secretstore.Secret{}, &r, err
		}
		if attempt > 0 || !s.abandoned(held) {
			return secretstore.Secret{}, nil, fail(ErrExists, "a managed key of that name exists", nil)
		}
		if err := secretkind.RollBackMint(ctx, s.store, s.dd, s.keyScope(held), v.name, held, mgr.cr); err != nil {
			return secretstore.Secret{}, nil, datadogFailure("rolling back an abandoned mint of the same name", err)
		}
		s.log.InfoContext(ctx, "rolled back an abandoned mint", slog.String("secret_arn", held.ARN))
	}
}

// rotationUnfinished reports whether held is the same mint as v, committed
// but whose rotation was never enabled (giving its readers the secret, or
// RotateSecret, failed after the key was stored): asking again finishes it
// rather than answering 409.
func (s *Service) rotationUnfinished(held secretstore.Secret, v spec) bool {
	_, committed := held.CurrentVersion()
	return committed && held.DeletedAt == nil && s.opts.RotationFunctionARN != "" &&
		!held.RotationEnabled && held.RotationLambdaARN == "" && held.Tags[secretkind.TagMintToken] != "" &&
		held.Tags[secretkind.TagServiceAccountID] == v.serviceAccountID
}

// finishRotation gives the readers a committed mint's secret, enables its
// rotation and answers with the key.
func (s *Service) finishRotation(ctx context.Context, v spec, held secretstore.Secret) (record, error) {
	if err := s.setReaders(ctx, held, v.readers); err != nil {
		return record{}, afterCommit(err)
	}
	if err := s.enableRotation(ctx, held.ARN, v.rules); err != nil {
		return record{}, err
	}
	s.log.InfoContext(ctx, "rotation of a minted key enabled on a repeated request", slog.String("secret_arn", held.ARN))
	return s.get(ctx, v.name)
}

// abandoned reports whether sec is a mint that never committed and is old
// enough not to be in flight.
func (s *Service) abandoned(sec secretstore.Secret) bool {
	_, committed := sec.CurrentVersion()
	return !committed && sec.DeletedAt == nil && !sec.CreatedAt.IsZero() && s.now().Sub(sec.CreatedAt) >= s.opts.MinAge
}

// awaitCommit waits, up to commitWait, for the mint of n by the same
// request to commit, then answers from it.
func (s *Service) awaitCommit(ctx context.Context, n secretkind.Name) (record, error) {
	deadline := time.NewTimer(commitWait)
	defer deadline.Stop()
	tick := time.NewTicker(commitPoll)
	defer tick.Stop()
	for {
		r, err := s.get(ctx, n)
		if !errors.Is(err, ErrNotFound) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return record{}, fail(ErrUnavailable, "waiting for the same request's mint", ctx.Err())
		case <-deadline.C:
			return record{}, fail(ErrUnavailable, "the same request's mint is still in progress; retry later", nil)
		case <-tick.C:
		}
	}
}

// dropIntent deletes the intent of a mint that created nothing. A failure
// leaves it to the sweeper.
func (s *Service) dropIntent(ctx context.Context, sec secretstore.Secret) {
	if _, err := s.store.Delete(ctx, sec.ARN, 0, true); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		s.log.WarnContext(ctx, "deleting a failed mint's secret failed; the sweeper will", slog.String("secret_arn", sec.ARN), slog.Any("error", err))
	}
}

// abort rolls back a mint that failed after recording its intent. A
// failure leaves the intent to the sweeper, which retries.
func (s *Service) abort(ctx context.Context, n secretkind.Name, sec secretstore.Secret, mgr managerOf) {
	if err := secretkind.RollBackMint(ctx, s.store, s.dd, s.keyScope(sec), n, sec, mgr.cr); err != nil {
		s.log.WarnContext(ctx, "rolling back a failed mint failed; the sweeper will", slog.String("secret_arn", sec.ARN), slog.Any("error", err))
	}
}

// A request that minted a managed key is carried out once, even when its
// event is delivered again after the key was deleted (a late retry, a
// dead-letter replay): deleting a managed key minted by a request leaves a
// tombstone, a small secret named after the request's token
// (secretkind.TombstoneName) that records which key it was. A mint with the
// same request id finds it and answers ErrDeleted instead of minting again.
// Tombstones outlive every redelivery: EventBridge retries for 24 hours and
// a dead-letter queue keeps a message at most 14 days; the sweeper deletes
// them after secretkind.TombstoneTTL.

// checkTombstone fails with ErrDeleted when the request already minted a
// key that was since deleted.
func (s *Service) checkTombstone(ctx context.Context, v spec) error {
	if v.requestID == "" {
		return nil
	}
	t, err := s.store.Describe(ctx, secretkind.TombstoneName(s.opts.Prefix, secretstore.TokenFor(v.requestID)))
	switch {
	case errors.Is(err, secretstore.ErrNotFound) || err == nil && t.DeletedAt != nil:
		return nil
	case err != nil:
		return storeFailure("checking whether the request was carried out before", err)
	}
	return fail(ErrDeleted, fmt.Sprintf("this request minted managed key %s, which was deleted since; it is not carried out again",
		t.Tags[secretkind.TagTombstoneOf]), nil)
}

// bury leaves the tombstone of the request that minted the managed key n
// (sec), if a request did. A failure is returned before anything is
// deleted, so a delete that cannot record its tombstone does not happen.
func (s *Service) bury(ctx context.Context, n secretkind.Name, sec secretstore.Secret) error {
	requestID := sec.Tags[secretkind.TagRequestID]
	if requestID == "" {
		return nil
	}
	_, err := s.store.Create(ctx, secretstore.CreateInput{
		Name:        secretkind.TombstoneName(s.opts.Prefix, secretstore.TokenFor(requestID)),
		Description: "ddconn: the managed key a request minted was deleted; the request is not carried out again",
		KMSKeyID:    s.opts.KMSKeyID,
		Tags: map[string]string{
			secretkind.TagManagedBy:   secretkind.ManagedBy,
			secretkind.TagRequestID:   requestID,
			secretkind.TagTombstoneOf: n.String(),
		},
	})
	if err != nil && !errors.Is(err, secretstore.ErrExists) {
		return storeFailure("recording the deletion of a provisioned key", err)
	}
	return nil
}
