package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Before ddconn creates anything outside Secrets Manager it records its
// intent, so that a crash at any point leaves a record the sweeper finishes
// or rolls back. intents is every kind of intent, how it is recorded, who
// writes it, and how the sweeper recovers it: the one table of them.
//
//	kind         recorded as                                  written by                 recovery
//	rotation key the Datadog key's name, derived from the     rotation.createSecret      deleteOrphans: delete keys under the
//	             rotation's token (Name.DatadogKeyName)                                  secret's prefix that no labelled
//	                                                                                     version holds, once older than MinAge
//	retirement   tag ddconn:retire:<key id> on the secret     rotation.finishSecret      rotation.Reconcile: revoke once due
//	             (rotationstate.Retirement)                                              and no live version holds the key
//	mint         the managed key's secret, created without    managedkey (begin)         secretkind.RollBackMint: revoke the
//	             a value, tagged with the mint's token                                   key named after the token, delete the
//	                                                                                     secret, once older than MinAge
//	tombstone    secret tombstones/<request token>            managedkey (bury)          expire: delete after
//	                                                                                     secretkind.TombstoneTTL
//
// Every recovery is idempotent, waits for MinAge before touching what may
// still be in flight, and treats a key already gone as done.
var intents = []intent{
	// One pass recovers both: the keys are listed before the secret is read
	// (see the package documentation), then orphans go and due
	// retirements are revoked.
	{kind: "rotation keys and retirements", applies: rotated, recover: (*Sweeper).visitKeys},
	{kind: "mint", applies: uncommittedMint, recover: (*Sweeper).rollBackMint},
	{kind: "tombstone", applies: tombstone, recover: (*Sweeper).expireTombstone},
}

// intent is one row of intents. applies tells whether a listed secret
// carries this kind of intent.
type intent struct {
	kind    string
	applies func(s *Sweeper, sec secretstore.Secret) bool
	recover func(s *Sweeper, ctx context.Context, sec secretstore.Secret, rep *Report) error
}

// visit recovers every intent one listed secret carries.
func (s *Sweeper) visit(ctx context.Context, sec secretstore.Secret, rep *Report) error {
	var errs []error
	for _, in := range intents {
		if !in.applies(s, sec) {
			continue
		}
		if err := in.recover(s, ctx, sec, rep); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.kind, err))
		}
	}
	return errors.Join(errs...)
}

// rotated reports whether sec is a connection's or a managed key's secret
// that may hold rotation keys or retirements: a rotation was configured
// (Secrets Manager keeps the function ARN after a cancellation) or
// retirements are recorded.
func rotated(s *Sweeper, sec secretstore.Secret) bool {
	if _, ok := secretkind.ParseName(s.prefix, sec.Name); !ok {
		return false
	}
	if sec.RotationLambdaARN != "" {
		return true
	}
	for k := range sec.Tags {
		if strings.HasPrefix(k, secretkind.TagRetirePrefix) {
			return true
		}
	}
	return false
}

// uncommittedMint reports whether sec is a managed key's secret whose mint
// never stored its key, old enough not to be in flight.
func uncommittedMint(s *Sweeper, sec secretstore.Secret) bool {
	n, ok := secretkind.ParseName(s.prefix, sec.Name)
	_, committed := sec.CurrentVersion()
	return ok && n.Managed() && !committed && sec.DeletedAt == nil && s.oldEnough(sec)
}

// tombstone reports whether sec is a tombstone past its time.
func tombstone(s *Sweeper, sec secretstore.Secret) bool {
	return strings.HasPrefix(sec.Name, secretkind.TombstonePrefix(s.prefix)) && sec.DeletedAt == nil &&
		!sec.CreatedAt.IsZero() && s.now().Sub(sec.CreatedAt) >= secretkind.TombstoneTTL
}

func (s *Sweeper) oldEnough(sec secretstore.Secret) bool {
	return !sec.CreatedAt.IsZero() && s.now().Sub(sec.CreatedAt) >= s.minAge
}

// rollBackMint rolls back a mint that never committed, with its
// connection's current keys.
func (s *Sweeper) rollBackMint(ctx context.Context, sec secretstore.Secret, rep *Report) error {
	n, _ := secretkind.ParseName(s.prefix, sec.Name)
	_, m, err := s.rot.Manager(ctx, secretkind.ConnectionName(n.Connection).SecretName(s.prefix))
	if err != nil {
		return fmt.Errorf("reading the keys of connection %s: %w", n.Connection, err)
	}
	if err := secretkind.RollBackMint(ctx, s.secrets, s.dd, n, sec, m.Credentials); err != nil {
		return err
	}
	rep.Swept++
	s.log.InfoContext(ctx, "rolled back an abandoned mint", slog.String("managed_key", n.String()), slog.String("secret_arn", sec.ARN))
	return nil
}

// expireTombstone deletes a tombstone past its time.
func (s *Sweeper) expireTombstone(ctx context.Context, sec secretstore.Secret, _ *Report) error {
	if _, err := s.secrets.Delete(ctx, sec.ARN, 0, true); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		return fmt.Errorf("deleting tombstone %s: %w", sec.Name, err)
	}
	return nil
}
