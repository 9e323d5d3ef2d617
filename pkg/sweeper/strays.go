package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

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

// maxStrayReads bounds the secrets one pass reads to tell whether a
// stray's secret is gone. A page sees, in its owners' listings, the keys
// of every secret those owners hold on other pages, and each such secret
// would cost a read; the bound keeps a page's work from growing with the
// owners' other secrets (strayWindow picks which, so that every one is
// read within a few sweeps).
const maxStrayReads = 100

// revokeStrays revokes the strays whose secret is gone: not listed by this
// pass (a full Run sees every secret, those pending deletion included; a
// page sees its own) and not found when read by name, at most
// maxStrayReads secrets a pass, each read once whatever number of keys it
// has. Such a secret was deleted for good outside ddconn (ddconn's own
// deletions settle the keys first), so these keys are found only through
// another secret sharing their owner.
func (s *Sweeper) revokeStrays(ctx context.Context, p *pass) error {
	bySecret := map[string][]string{} // secret name → stray key ids
	for id, st := range p.strays {
		if name := st.name.SecretName(s.prefix); !p.listed[name] {
			bySecret[name] = append(bySecret[name], id)
		}
	}
	var errs []error
	for _, secretName := range strayWindow(slices.Sorted(maps.Keys(bySecret)), s.now()) {
		if _, err := s.secrets.Describe(ctx, secretName); err == nil {
			continue
		} else if !errors.Is(err, secretstore.ErrNotFound) {
			errs = append(errs, fmt.Errorf("reading %s, whose keys may be strays: %w", secretName, err))
			continue
		}
		ids := bySecret[secretName]
		slices.Sort(ids)
		for _, id := range ids {
			st := p.strays[id]
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
	}
	return errors.Join(errs...)
}

// strayWindow picks at most maxStrayReads of names (sorted) to read this
// pass: all of them when they fit, else a window that moves on by
// maxStrayReads every hour, wrapping around, so each name is read within
// len(names)/maxStrayReads+1 hourly sweeps.
func strayWindow(names []string, now time.Time) []string {
	if len(names) <= maxStrayReads {
		return names
	}
	start := int((now.Unix() / 3600 * maxStrayReads) % int64(len(names)))
	out := make([]string, 0, maxStrayReads)
	for i := range maxStrayReads {
		out = append(out, names[(start+i)%len(names)])
	}
	return out
}
