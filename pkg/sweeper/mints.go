package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// finishMints follows the mints recorded on a connection's secret
// (secretkind.Mint) that are older than the minimum age, so no longer
// in flight: a mint whose key was stored is done, and its tag goes; a mint
// that stopped before storing its key left that key with no secret to be
// found by, so the keys named after the managed key are deleted first.
func (s *Sweeper) finishMints(ctx context.Context, sec secretstore.Secret, rep *Report) error {
	conn := strings.TrimPrefix(sec.Name, s.prefix)
	if !secretkind.ValidName(conn) {
		return nil
	}
	c := &connectionMints{s: s, connARN: sec.ARN}
	var errs []error
	for _, m := range secretkind.Mints(conn, sec.Tags) {
		if s.now().Sub(m.Started) < s.minAge {
			continue
		}
		swept, err := c.finish(ctx, m)
		rep.Swept += len(swept)
		if len(swept) > 0 {
			s.log.InfoContext(ctx, "deleted the keys of an abandoned mint", slog.String("connection", conn),
				slog.String("managed_key", m.Name.String()), slog.Any("swept_key_ids", swept))
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// connectionMints finishes the mints of one connection.
type connectionMints struct {
	s       *Sweeper
	connARN string
	cr      *datadog.Credentials // the connection's keys, read when first needed
}

func (c *connectionMints) finish(ctx context.Context, m secretkind.Mint) ([]string, error) {
	managed, err := c.s.secrets.Describe(ctx, m.Name.SecretName(c.s.prefix))
	var swept []string
	switch {
	case err == nil && managed.DeletedAt == nil:
		// Stored: the managed key's own sweep handles any leftover key.
	case err == nil || errors.Is(err, secretstore.ErrNotFound):
		if swept, err = c.deleteKeys(ctx, m); err != nil {
			return swept, err
		}
	default:
		return nil, fmt.Errorf("reading the secret of managed key %s: %w", m.Name.Key, err)
	}
	k, _ := m.Tag()
	if err := c.s.secrets.Untag(ctx, c.connARN, []string{k}); err != nil {
		return swept, fmt.Errorf("removing the tag of the mint of %s: %w", m.Name.Key, err)
	}
	return swept, nil
}

// deleteKeys deletes the keys named after m's managed key that are old
// enough not to belong to a mint in flight.
func (c *connectionMints) deleteKeys(ctx context.Context, m secretkind.Mint) ([]string, error) {
	if c.cr == nil {
		_, mgr, err := c.s.rot.Manager(ctx, c.connARN)
		if err != nil {
			return nil, fmt.Errorf("reading the connection's keys: %w", err)
		}
		c.cr = &mgr.Credentials
	}
	mgr := secretkind.Manager{Credentials: *c.cr, Owner: datadog.KeyOwner{ServiceAccountID: m.ServiceAccountID}}
	keys, err := m.Name.Kind.ListKeys(ctx, c.s.dd, mgr)
	if err != nil {
		return nil, err
	}
	now, prefix := c.s.now(), m.Name.DatadogKeyNamePrefix()
	var swept []string
	for _, k := range keys {
		if !strings.HasPrefix(k.Name, prefix) || k.CreatedAt.IsZero() || now.Sub(k.CreatedAt) < c.s.minAge {
			continue
		}
		if err := m.Name.Kind.RevokeKey(ctx, c.s.dd, mgr, k.ID); err != nil {
			return swept, fmt.Errorf("a key of an abandoned mint: %w", err)
		}
		swept = append(swept, k.ID)
	}
	return swept, nil
}
