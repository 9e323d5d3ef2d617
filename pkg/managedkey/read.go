package managedkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// listPageSize is the number of secrets read per ListSecrets call.
const listPageSize = 100

// Get returns the managed application key name of connection conn, with its
// scopes (read from the secret's current value; never returned).
func (s *Service) Get(ctx context.Context, conn, name string) (AppKey, error) {
	r, err := s.get(ctx, secretkind.Name{Kind: secretkind.AppKey, Connection: conn, Key: name})
	if err != nil {
		return AppKey{}, err
	}
	return appKeyFrom(r), nil
}

// GetAPIKey returns the managed API key name of connection conn.
func (s *Service) GetAPIKey(ctx context.Context, conn, name string) (APIKey, error) {
	r, err := s.get(ctx, secretkind.Name{Kind: secretkind.APIKey, Connection: conn, Key: name})
	if err != nil {
		return APIKey{}, err
	}
	return apiKeyFrom(r), nil
}

// List returns every managed application key of connection conn, from
// metadata only (no scopes), with its readers.
func (s *Service) List(ctx context.Context, conn string) ([]AppKey, error) {
	out := []AppKey{}
	err := s.each(ctx, secretkind.AppKey, conn, func(r record) { out = append(out, appKeyFrom(r)) })
	return out, err
}

// ListAPIKeys returns every managed API key of connection conn.
func (s *Service) ListAPIKeys(ctx context.Context, conn string) ([]APIKey, error) {
	out := []APIKey{}
	err := s.each(ctx, secretkind.APIKey, conn, func(r record) { out = append(out, apiKeyFrom(r)) })
	return out, err
}

// get reads a managed key and its current document.
func (s *Service) get(ctx context.Context, n secretkind.Name) (record, error) {
	sec, err := s.describe(ctx, n)
	if err != nil {
		return record{}, err
	}
	v, err := s.store.Get(ctx, sec.ARN, "", secretstore.Current)
	if errors.Is(err, secretstore.ErrNotFound) {
		return record{}, notFound(n) // a mint in flight, or abandoned
	}
	if err != nil {
		return record{}, storeFailure("reading the managed key", err)
	}
	doc, err := secretkind.ParseVersion(n.Kind, v.Value, v.ID, sec.Tags)
	if err != nil {
		return record{}, fail(ErrUnavailable, "the managed key's secret is not readable", err)
	}
	readers, err := s.readersOf(ctx, sec)
	if err != nil {
		return record{}, err
	}
	return record{name: n, secret: sec, doc: &doc, readers: readers}, nil
}

// each calls visit for every live managed key of kind k of connection conn
// whose mint committed, with its readers (read only for the keys that may
// have some).
func (s *Service) each(ctx context.Context, k secretkind.Kind, conn string, visit func(record)) error {
	if _, err := s.connection(ctx, conn); err != nil {
		return err
	}
	var committed []record
	err := s.walk(ctx, k, conn, func(r record) {
		if _, ok := r.secret.CurrentVersion(); ok {
			committed = append(committed, r)
		}
	})
	if err != nil {
		return err
	}
	for _, r := range committed {
		if r.readers, err = s.readersOf(ctx, r.secret); err != nil {
			return err
		}
		visit(r)
	}
	return nil
}

// CountManagedKeys counts the managed keys of both kinds of connection
// conn, mints in flight included, from metadata only; the connection
// itself is not read.
func (s *Service) CountManagedKeys(ctx context.Context, conn string) (int, error) {
	n := 0
	for _, k := range secretkind.Managed {
		if err := s.walk(ctx, k, conn, func(record) { n++ }); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// walk visits the live managed keys of kind k of connection conn.
func (s *Service) walk(ctx context.Context, k secretkind.Kind, conn string, visit func(record)) error {
	cursor := ""
	for {
		page, next, err := s.store.List(ctx, secretkind.Prefix(s.opts.Prefix, k, conn), listPageSize, cursor)
		if err != nil {
			return storeFailure("listing managed keys", err)
		}
		for _, sec := range page {
			n, ok := secretkind.ParseName(s.opts.Prefix, sec.Name)
			if ok && n.Kind == k && n.Connection == conn && sec.DeletedAt == nil {
				visit(record{name: n, secret: sec})
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// Delete revokes every key ddconn minted for the managed application key
// (unless keepKeys), then deletes its secret without a recovery window.
func (s *Service) Delete(ctx context.Context, conn, name string, keepKeys bool) error {
	return s.remove(ctx, secretkind.Name{Kind: secretkind.AppKey, Connection: conn, Key: name}, keepKeys)
}

// DeleteAPIKey is Delete for a managed API key. The connection's own API
// key is never one of the keys it revokes.
func (s *Service) DeleteAPIKey(ctx context.Context, conn, name string, keepKeys bool) error {
	return s.remove(ctx, secretkind.Name{Kind: secretkind.APIKey, Connection: conn, Key: name}, keepKeys)
}

// remove deletes a managed key of either kind. Its keys are settled first
// (revoked, or with keepKeys released): if that fails, the secret stays,
// and a retry finds the keys again through it.
func (s *Service) remove(ctx context.Context, n secretkind.Name, keepKeys bool) error {
	sec, err := s.describe(ctx, n)
	if err != nil {
		return err
	}
	if err := s.bury(ctx, n, sec); err != nil {
		return err
	}
	// Readers lose the secret before anything else: a failure here leaves
	// the key whole, and a retry finds the readers' tag again.
	if err := s.setReaders(ctx, sec, nil); err != nil {
		return err
	}
	settled, err := s.settleAll(ctx, n, sec, keepKeys)
	if err != nil {
		return err
	}
	if _, err := s.store.Delete(ctx, sec.ARN, 0, true); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		return storeFailure("deleting the managed key's secret", err)
	}
	s.log.InfoContext(ctx, "managed key deleted", slog.String("kind", n.Kind.Segment()), slog.String("connection", n.Connection),
		slog.String("name", n.Key), slog.String("secret_arn", sec.ARN), slog.Any("settled_key_ids", settled),
		slog.Bool("keep_keys", keepKeys))
	return nil
}

// settleAll revokes, or with release releases (secretkind.Settle), with the
// connection's current keys every key ddconn minted for n: those named for
// it and those a labelled version holds. The connection's own API key is
// never among them.
func (s *Service) settleAll(ctx context.Context, n secretkind.Name, sec secretstore.Secret, release bool) ([]string, error) {
	mgr, err := s.connection(ctx, n.Connection)
	if err != nil {
		return nil, err
	}
	held, owner, err := s.heldKeys(ctx, n, sec, mgr.cr.APIKey)
	if err != nil {
		return nil, err
	}
	m := mgr.manager(owner)
	keys, err := n.Kind.ListKeys(ctx, s.dd, m)
	if err != nil {
		return nil, datadogFailure("listing the managed key's keys", err)
	}
	settled, err := secretkind.Settle(ctx, s.dd, n.Kind, m, secretkind.MintedKeys(s.keyScope(sec), n, keys, held, ""), release)
	if err != nil {
		return settled, datadogFailure("settling the managed key's keys", err)
	}
	return settled, nil
}

// heldKeys returns the key ids the labelled versions hold, and the service
// account owning an application key's keys. A version holding the
// connection's own API key (connAPIKey) is never counted.
func (s *Service) heldKeys(ctx context.Context, n secretkind.Name, sec secretstore.Secret, connAPIKey string) ([]string, string, error) {
	var ids []string
	owner := sec.Tags[secretkind.TagServiceAccountID]
	for version := range sec.Versions {
		v, err := s.store.Get(ctx, sec.ARN, version, "")
		if errors.Is(err, secretstore.ErrNotFound) {
			continue // a value-less AWSPENDING placeholder
		}
		if err != nil {
			return nil, "", storeFailure("reading the managed key", err)
		}
		d, err := secretkind.ParseVersion(n.Kind, v.Value, v.ID, sec.Tags)
		if err != nil || d.Key == connAPIKey {
			continue // not ours to revoke by id; the name prefix still applies
		}
		ids = append(ids, d.KeyID)
		if d.OwnerID != "" {
			owner = d.OwnerID
		}
	}
	if n.Kind == secretkind.AppKey && owner == "" {
		return nil, "", fail(ErrUnavailable, "the managed key's service account is unknown", nil)
	}
	return ids, owner, nil
}

// describe finds the managed key's live secret.
func (s *Service) describe(ctx context.Context, n secretkind.Name) (secretstore.Secret, error) {
	if !secretkind.ValidName(n.Key) || !secretkind.ValidName(n.Connection) {
		return secretstore.Secret{}, notFound(n)
	}
	if err := s.checkVisible(ctx, n.Connection); err != nil {
		return secretstore.Secret{}, err
	}
	sec, err := s.store.Describe(ctx, n.SecretName(s.opts.Prefix))
	switch {
	case errors.Is(err, secretstore.ErrNotFound) || err == nil && sec.DeletedAt != nil:
		return secretstore.Secret{}, notFound(n)
	case err != nil:
		return secretstore.Secret{}, storeFailure("reading the managed key", err)
	}
	return sec, nil
}

// checkVisible answers a managed key of a connection the caller of ctx may
// not see as not found. It reads the connection's metadata only for a
// caller that is restricted (not ddconn itself, not an administrator).
func (s *Service) checkVisible(ctx context.Context, conn string) error {
	if c, ok := access.CallerFrom(ctx); !ok || c.Admin {
		return nil
	}
	_, err := s.visibleConnection(ctx, conn)
	return err
}

func notFound(n secretkind.Name) error {
	return fail(ErrNotFound, fmt.Sprintf("managed key %s/%s of connection %q not found", n.Kind.Segment(), n.Key, n.Connection), nil)
}
