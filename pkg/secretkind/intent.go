package secretkind

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// mintStore is what rolling back a mint needs from Secrets Manager.
type mintStore interface {
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
	Delete(ctx context.Context, id string, recoveryDays int, force bool) (time.Time, error)
}

// RollBackMint undoes the mint recorded by sec, a managed key's secret
// without a current version: it revokes, with the connection's
// credentials, the key named after the mint's token under the deployment
// scope (KeyScope), then deletes the
// secret. It is idempotent, and does nothing to a secret that committed in
// the meantime (its key is in use).
func RollBackMint(ctx context.Context, store mintStore, dd Datadog, scope string, n Name, sec secretstore.Secret, conn datadog.Credentials) error {
	if _, err := store.Get(ctx, sec.ARN, "", secretstore.Current); err == nil {
		return nil
	} else if !errors.Is(err, secretstore.ErrNotFound) {
		return fmt.Errorf("reading the mint's secret: %w", err)
	}
	if token := sec.Tags[TagMintToken]; token != "" {
		m := Manager{Credentials: conn, Owner: datadog.KeyOwner{ServiceAccountID: sec.Tags[TagServiceAccountID]}}
		keys, err := n.Kind.ListKeys(ctx, dd, m)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.Name != n.DatadogKeyName(scope, token) && k.Name != n.DatadogKeyName("", token) {
				continue
			}
			if err := n.Kind.RevokeKey(ctx, dd, m, k.ID); err != nil {
				return err
			}
		}
	}
	if _, err := store.Delete(ctx, sec.ARN, 0, true); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		return fmt.Errorf("deleting the mint's secret: %w", err)
	}
	return nil
}
