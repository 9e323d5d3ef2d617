package rotation

import (
	"context"
	"fmt"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// keyManager returns who manages the keys of secret n, given its current
// document: a connection's key manages itself, on its owner's own routes; a
// managed key is managed by its connection's current keys (read now, so a
// rotation of the connection is followed), on its service account's routes
// for an application key.
func (r *Rotator) keyManager(ctx context.Context, n secretkind.Name, cur secretkind.Document) (secretkind.Manager, error) {
	if !n.Managed() {
		cr, err := credentials(n.Kind, cur, secretkind.Manager{})
		return secretkind.Manager{Credentials: cr}, err
	}
	conn := secretkind.ConnectionName(n.Connection)
	v, err := r.secrets.Get(ctx, conn.SecretName(r.prefix), "", secretstore.Current)
	if err != nil {
		return secretkind.Manager{}, fmt.Errorf("reading connection %s: %w", n.Connection, err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		return secretkind.Manager{}, fmt.Errorf("%w: connection %s: %w", ErrNotConnection, n.Connection, err)
	}
	cr, err := credentials(secretkind.Connection, doc, secretkind.Manager{})
	if err != nil {
		return secretkind.Manager{}, err
	}
	return secretkind.Manager{Credentials: cr, Owner: datadog.KeyOwner{ServiceAccountID: cur.OwnerID}}, nil
}

// Manager tells what secret secretID is and who manages its keys: the
// sweeper lists and deletes keys with it.
func (r *Rotator) Manager(ctx context.Context, secretID string) (secretkind.Name, secretkind.Manager, error) {
	sec, err := r.secrets.Describe(ctx, secretID)
	if err != nil {
		return secretkind.Name{}, secretkind.Manager{}, err
	}
	n, err := r.name(sec)
	if err != nil {
		return n, secretkind.Manager{}, err
	}
	cur, err := r.document(ctx, n, sec, "", secretstore.Current)
	if err != nil {
		return n, secretkind.Manager{}, fmt.Errorf("reading the current document: %w", err)
	}
	m, err := r.keyManager(ctx, n, cur)
	return n, m, err
}

// name tells which ddconn secret sec is, or fails with ErrForeignSecret.
func (r *Rotator) name(sec secretstore.Secret) (secretkind.Name, error) {
	n, ok := secretkind.ParseName(r.prefix, sec.Name)
	if !ok {
		return n, fmt.Errorf("%w: %s is not a ddconn secret under %q", ErrForeignSecret, sec.Name, r.prefix)
	}
	return n, nil
}
