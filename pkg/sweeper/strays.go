package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// noteStrays records, from the listing keys of secret n's owner (made with
// m), the keys this deployment (scope) created for other secrets, once old
// enough: if their secret turns out to be gone, nothing else will revoke
// them (revokeStrays).
func (s *Sweeper) noteStrays(p *pass, scope string, n secretkind.Name, m secretkind.Manager, keys []secretkind.Key) {
	now := s.now()
	for _, k := range keys {
		of, ok := secretkind.ParseDatadogKeyName(scope, k.Name)
		if !ok || of == n || (of.Kind == secretkind.APIKey) != (n.Kind == secretkind.APIKey) || !s.oldKey(k, now) {
			continue
		}
		if _, noted := p.strays[k.ID]; !noted {
			p.strays[k.ID] = stray{name: of, key: k, kind: n.Kind, m: m}
		}
	}
}

// revokeStrays revokes the strays whose secret is gone: not listed by this
// pass (which saw every secret, those pending deletion included) and not
// found when read again, for one created since. Such a secret was deleted
// for good outside ddconn (ddconn's own deletions settle the keys first),
// so these keys are found only through another secret sharing their owner.
func (s *Sweeper) revokeStrays(ctx context.Context, p *pass) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(p.strays)) {
		st := p.strays[id]
		secretName := st.name.SecretName(s.prefix)
		if p.listed[secretName] {
			continue
		}
		if _, err := s.secrets.Describe(ctx, secretName); err == nil {
			continue
		} else if !errors.Is(err, secretstore.ErrNotFound) {
			errs = append(errs, fmt.Errorf("reading %s, whose key %s may be a stray: %w", secretName, id, err))
			continue
		}
		err := st.kind.RevokeKey(ctx, s.dd, st.m, id)
		s.audit(ctx, "revoke key "+id+" of a secret deleted outside ddconn", secretName, err)
		if err != nil {
			errs = append(errs, fmt.Errorf("revoking key %s of %s, deleted outside ddconn: %w", id, st.name, err))
			continue
		}
		p.rep.Swept++
		s.log.InfoContext(ctx, "revoked a key of a secret deleted outside ddconn",
			slog.String("secret_name", secretName), slog.String("key_id", id))
	}
	return errors.Join(errs...)
}
