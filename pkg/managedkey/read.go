package managedkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/managedsecret"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// listPageSize is the number of secrets read per ListSecrets call.
const listPageSize = 100

// Get returns the managed application key name of connection conn, with its
// scopes (read from the secret's current value; never returned).
func (s *Service) Get(ctx context.Context, conn, name string) (AppKey, error) {
	n, sec, err := s.describe(ctx, managedsecret.AppKey, conn, name)
	if err != nil {
		return AppKey{}, err
	}
	doc, err := s.document(ctx, sec.ARN)
	if err != nil {
		return AppKey{}, err
	}
	return appKeyFrom(n, sec, &doc), nil
}

// List returns every managed application key of connection conn, from
// metadata only (no scopes).
func (s *Service) List(ctx context.Context, conn string) ([]AppKey, error) {
	out := []AppKey{}
	err := s.each(ctx, managedsecret.AppKey, conn, func(n managedsecret.Name, sec secretstore.Secret) {
		out = append(out, appKeyFrom(n, sec, nil))
	})
	return out, err
}

// each calls visit for every live managed key of kind k of connection conn.
func (s *Service) each(ctx context.Context, k managedsecret.Kind, conn string, visit func(managedsecret.Name, secretstore.Secret)) error {
	if _, err := s.connection(ctx, conn); err != nil {
		return err
	}
	return s.walk(ctx, k, conn, visit)
}

// CountManagedKeys counts the managed keys of both kinds of connection
// conn, from metadata only; the connection itself is not read.
func (s *Service) CountManagedKeys(ctx context.Context, conn string) (int, error) {
	n := 0
	for _, k := range []managedsecret.Kind{managedsecret.AppKey, managedsecret.APIKey} {
		if err := s.walk(ctx, k, conn, func(managedsecret.Name, secretstore.Secret) { n++ }); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// walk visits the live managed keys of kind k of connection conn.
func (s *Service) walk(ctx context.Context, k managedsecret.Kind, conn string, visit func(managedsecret.Name, secretstore.Secret)) error {
	cursor := ""
	for {
		page, next, err := s.store.List(ctx, managedsecret.Prefix(s.opts.Prefix, k, conn), listPageSize, cursor)
		if err != nil {
			return storeFailure("listing managed keys", err)
		}
		for _, sec := range page {
			n, ok := managedsecret.ParseName(s.opts.Prefix, sec.Name)
			if ok && n.Kind == k && n.Connection == conn && sec.DeletedAt == nil {
				visit(n, sec)
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// Delete revokes every key ddconn minted for the managed key (unless
// keepKeys), then deletes its secret without a recovery window.
func (s *Service) Delete(ctx context.Context, conn, name string, keepKeys bool) error {
	return s.remove(ctx, managedsecret.AppKey, conn, name, keepKeys, s.revokeAll)
}

// remove is Delete and DeleteAPIKey. Revocation comes first: if it fails,
// the secret stays, and a retry finds the keys again through it.
func (s *Service) remove(ctx context.Context, kind managedsecret.Kind, conn, name string, keepKeys bool,
	revoke func(context.Context, managedsecret.Name, secretstore.Secret) ([]string, error)) error {
	n, sec, err := s.describe(ctx, kind, conn, name)
	if err != nil {
		return err
	}
	var revoked []string
	if !keepKeys {
		if revoked, err = revoke(ctx, n, sec); err != nil {
			return err
		}
	}
	if _, err := s.store.Delete(ctx, sec.ARN, 0, true); err != nil && !errors.Is(err, secretstore.ErrNotFound) {
		return storeFailure("deleting the managed key's secret", err)
	}
	s.log.InfoContext(ctx, "managed key deleted", slog.String("kind", string(kind)), slog.String("connection", conn),
		slog.String("name", name), slog.String("secret_arn", sec.ARN), slog.Any("revoked_key_ids", revoked),
		slog.Bool("keep_keys", keepKeys))
	return nil
}

// revokeAll deletes, with the connection's current key, every key of the
// service account that ddconn minted for n: those named under its prefix
// and those a labelled version holds.
func (s *Service) revokeAll(ctx context.Context, n managedsecret.Name, sec secretstore.Secret) ([]string, error) {
	mgr, err := s.connection(ctx, n.Connection)
	if err != nil {
		return nil, err
	}
	held, saID, err := s.heldKeys(ctx, sec)
	if err != nil {
		return nil, err
	}
	owner := datadog.KeyOwner{ServiceAccountID: saID}
	keys, err := s.dd.ListAppKeys(ctx, mgr.cr, owner)
	if err != nil {
		return nil, datadogFailure("listing the service account's keys", err)
	}
	var revoked []string
	for _, k := range keys {
		if !strings.HasPrefix(k.Name, n.DatadogKeyNamePrefix()) && !slices.Contains(held, k.ID) {
			continue
		}
		if err := s.dd.DeleteAppKey(ctx, mgr.cr, owner, k.ID); err != nil {
			return revoked, datadogFailure(fmt.Sprintf("revoking application key %s", k.ID), err)
		}
		revoked = append(revoked, k.ID)
	}
	return revoked, nil
}

// heldKeys returns the key ids the labelled versions hold, and the service
// account they belong to.
func (s *Service) heldKeys(ctx context.Context, sec secretstore.Secret) ([]string, string, error) {
	var ids []string
	saID := sec.Tags[TagServiceAccountID]
	for version := range sec.Versions {
		v, err := s.store.Get(ctx, sec.ARN, version, "")
		if errors.Is(err, secretstore.ErrNotFound) {
			continue // a value-less AWSPENDING placeholder
		}
		if err != nil {
			return nil, "", storeFailure("reading the managed key", err)
		}
		d, err := managedsecret.ParseAppKeyDocument(v.Value)
		if err != nil {
			continue // not ours to revoke by id; the name prefix still applies
		}
		ids = append(ids, d.ApplicationKeyID)
		saID = d.ServiceAccountID
	}
	if saID == "" {
		return nil, "", fail(ErrUnavailable, "the managed key's service account is unknown", nil)
	}
	return ids, saID, nil
}

// describe finds the managed key's live secret.
func (s *Service) describe(ctx context.Context, k managedsecret.Kind, conn, name string) (managedsecret.Name, secretstore.Secret, error) {
	n := managedsecret.Name{Kind: k, Connection: conn, Key: name}
	notFound := fail(ErrNotFound, fmt.Sprintf("managed key %s/%s of connection %q not found", k, name, conn), nil)
	if !managedsecret.ValidKeyName(name) || !managedsecret.ValidKeyName(conn) {
		return n, secretstore.Secret{}, notFound
	}
	sec, err := s.store.Describe(ctx, n.SecretName(s.opts.Prefix))
	switch {
	case errors.Is(err, secretstore.ErrNotFound) || err == nil && sec.DeletedAt != nil:
		return n, secretstore.Secret{}, notFound
	case err != nil:
		return n, secretstore.Secret{}, storeFailure("reading the managed key", err)
	}
	return n, sec, nil
}

func (s *Service) document(ctx context.Context, arn string) (managedsecret.AppKeyDocument, error) {
	v, err := s.store.Get(ctx, arn, "", secretstore.Current)
	if err != nil {
		return managedsecret.AppKeyDocument{}, storeFailure("reading the managed key", err)
	}
	d, err := managedsecret.ParseAppKeyDocument(v.Value)
	if err != nil {
		return managedsecret.AppKeyDocument{}, fail(ErrUnavailable, "the managed key's secret is not readable", err)
	}
	return d, nil
}
