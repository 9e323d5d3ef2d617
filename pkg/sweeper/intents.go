package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/rotationstate"
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
//	deletion     a connection's secret scheduled for          connection (Delete)        revokeDeleted: in the last
//	             deletion, its keys still in Datadog;                                    DeletionMargin, restore it, revoke
//	             keepKeys as tag ddconn:keep-keys                                        (or release) the keys ddconn
//	                                                                                     minted, delete it
//	stray        a key named for a secret of this deployment  nobody: the secret was     revokeStrays: after the pass (a Run
//	             (KeyScope) that is gone for good             deleted outside ddconn     or one page), revoke those whose
//	                                                                                     secret it did not list and a read
//	                                                                                     by name does not find, with the
//	                                                                                     lister that saw them
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
	{kind: "deletion", applies: deletionEnding, recover: (*Sweeper).revokeDeleted},
}

// intent is one row of intents. applies tells whether a listed secret
// carries this kind of intent.
type intent struct {
	kind    string
	applies func(s *Sweeper, sec secretstore.Secret) bool
	recover func(s *Sweeper, ctx context.Context, sec secretstore.Secret, p *pass) error
}

// visit recovers every intent one listed secret carries.
func (s *Sweeper) visit(ctx context.Context, sec secretstore.Secret, p *pass) error {
	var errs []error
	for _, in := range intents {
		if !in.applies(s, sec) {
			continue
		}
		if err := in.recover(s, ctx, sec, p); err != nil {
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
	if _, ok := secretkind.ParseName(s.prefix, sec.Name); !ok || sec.DeletedAt != nil {
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
func (s *Sweeper) rollBackMint(ctx context.Context, sec secretstore.Secret, p *pass) error {
	n, _ := secretkind.ParseName(s.prefix, sec.Name)
	_, m, err := s.rot.Manager(ctx, secretkind.ConnectionName(n.Connection).SecretName(s.prefix))
	if err != nil {
		return fmt.Errorf("reading the keys of connection %s: %w", n.Connection, err)
	}
	if err := secretkind.RollBackMint(ctx, s.secrets, s.dd, secretkind.KeyScope(s.prefix, sec.ARN), n, sec, m.Credentials); err != nil {
		return err
	}
	p.rep.Swept++
	s.log.InfoContext(ctx, "rolled back an abandoned mint", slog.String("managed_key", n.String()), slog.String("secret_arn", sec.ARN))
	s.audit(ctx, "roll back mint", sec.ARN, nil)
	return nil
}

// expireTombstone deletes a tombstone past its time.
func (s *Sweeper) expireTombstone(ctx context.Context, sec secretstore.Secret, _ *pass) error {
	if _, err := s.secrets.Delete(ctx, sec.ARN, 0, true); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		return fmt.Errorf("deleting tombstone %s: %w", sec.Name, err)
	}
	return nil
}

// DeletionMargin is how long before a connection's recovery window ends
// the sweeper revokes its keys: more than the hourly schedule, so a run
// falls inside it. A restore before then keeps every key working.
const DeletionMargin = 2 * time.Hour

// deletionEnding reports whether sec is a connection's secret whose
// recovery window ends within DeletionMargin.
func deletionEnding(s *Sweeper, sec secretstore.Secret) bool {
	n, ok := secretkind.ParseName(s.prefix, sec.Name)
	return ok && !n.Managed() && sec.DeletedAt != nil && sec.DeletedAt.Sub(s.now()) <= DeletionMargin
}

// revokeDeleted settles the keys ddconn minted for a connection whose
// recovery window is ending: a secret scheduled for deletion cannot be
// read, so it is restored, its keys revoked with its current key (that one
// last) — or released, when it was deleted with keepKeys
// (secretkind.TagKeepKeys) — and it is deleted for good. If anything fails
// after the restore, the secret is scheduled for deletion again, and a
// later run retries before that window ends: a stuck deletion is preferred
// to forgotten keys.
func (s *Sweeper) revokeDeleted(ctx context.Context, sec secretstore.Secret, p *pass) error {
	if err := s.secrets.Restore(ctx, sec.ARN); err != nil {
		return fmt.Errorf("restoring %s to settle its keys: %w", sec.Name, err)
	}
	release := sec.Tags[secretkind.TagKeepKeys] == "true"
	settled, err := s.settleMinted(ctx, sec, release)
	if !release {
		p.rep.Revoked += len(settled)
	}
	if err != nil {
		if _, derr := s.secrets.Delete(ctx, sec.ARN, deletionRetryDays, false); derr != nil {
			err = errors.Join(err, fmt.Errorf("scheduling %s for deletion again: %w", sec.Name, derr))
		}
		s.audit(ctx, "settle keys of a deleted connection", sec.ARN, err)
		return err
	}
	if _, err := s.secrets.Delete(ctx, sec.ARN, 0, true); err != nil {
		return fmt.Errorf("deleting %s after settling its keys: %w", sec.Name, err)
	}
	s.log.InfoContext(ctx, "keys of a deleted connection settled", slog.String("secret_arn", sec.ARN),
		slog.Bool("released", release), slog.Any("key_ids", settled))
	s.audit(ctx, "settle keys of a deleted connection", sec.ARN, nil)
	return nil
}

// deletionRetryDays is the recovery window of a deletion scheduled again
// after its keys could not be settled: Secrets Manager's shortest.
const deletionRetryDays = 7

// settleMinted revokes, or releases, the keys secretkind.MintedKeys picks
// for the restored secret sec.
func (s *Sweeper) settleMinted(ctx context.Context, sec secretstore.Secret, release bool) ([]string, error) {
	n, m, err := s.rot.Manager(ctx, sec.ARN)
	if err != nil {
		return nil, fmt.Errorf("reading who manages the keys: %w", err)
	}
	keys, err := n.Kind.ListKeys(ctx, s.dd, m)
	if err != nil {
		return nil, err
	}
	snap, err := s.rot.Snapshot(ctx, sec.ARN)
	if err != nil {
		return nil, fmt.Errorf("reading the secret: %w", err)
	}
	cur, _ := snap.Current()
	minted := secretkind.MintedKeys(secretkind.KeyScope(s.prefix, sec.ARN), n, keys, rotationstate.RetiredKeyIDs(snap.Secret.Tags), cur.KeyID)
	return secretkind.Settle(ctx, s.dd, n.Kind, m, minted, release)
}
