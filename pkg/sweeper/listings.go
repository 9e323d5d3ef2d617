package sweeper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// listing is one key owner's keys, listed once per Run and shared by every
// secret whose keys that owner holds.
type listing struct {
	m    secretkind.Manager
	keys []secretkind.Key
}

// managerGroup names, from a listed secret's name and tags alone, the
// secrets whose keys one listing shows: the connections of one owner on
// one site (the current-user routes answer the same for each), the
// managed application keys of one connection's service account, the
// managed API keys of one connection (its organisation's). "" when the
// tags do not tell: the secret is listed on its own.
func managerGroup(n secretkind.Name, sec secretstore.Secret) string {
	switch n.Kind {
	case secretkind.Connection:
		owner, site := sec.Tags[secretkind.TagOwnerID], sec.Tags[secretkind.TagSite]
		if owner == "" || site == "" {
			return ""
		}
		return "connection\x00" + site + "\x00" + owner
	case secretkind.AppKey:
		sa := sec.Tags[secretkind.TagServiceAccountID]
		if sa == "" {
			return ""
		}
		return "keys\x00" + n.Connection + "\x00" + sa
	case secretkind.APIKey:
		return "api-keys\x00" + n.Connection
	}
	return ""
}

// listingID identifies a listing by what it is made with: the kind's
// routes, the owner and the credentials. The credentials enter as a hash,
// so the map holds no key material.
func listingID(k secretkind.Kind, m secretkind.Manager) string {
	h := sha256.New()
	for _, part := range []string{k.Segment(), m.Owner.ServiceAccountID, m.Credentials.Site.Param, m.Credentials.APIKey, m.Credentials.AppKey} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// keysOf returns who manages sec's keys and the keys that manager lists,
// listing them only if this Run has not yet listed them with the same
// manager: one listing per key owner per Run. Who manages the keys is read
// (manager) only for the first secret of its managerGroup. A failed
// listing is not kept: the next secret of the group reads its own manager
// and tries again.
func (s *Sweeper) keysOf(ctx context.Context, sec secretstore.Secret, p *pass) (secretkind.Name, listing, error) {
	n, _ := secretkind.ParseName(s.prefix, sec.Name)
	group := managerGroup(n, sec)
	if l, ok := p.groups[group]; ok && group != "" {
		return n, l, nil
	}
	m, err := s.manager(ctx, n, sec, p)
	if err != nil {
		return n, listing{}, &managerError{err}
	}
	id := listingID(n.Kind, m)
	l, ok := p.listings[id]
	if !ok {
		keys, err := n.Kind.ListKeys(ctx, s.dd, m)
		if err != nil {
			return n, listing{}, err
		}
		l = listing{m: m, keys: keys}
		p.listings[id] = l
		p.rep.Listings++
		s.countHeadroom(ctx, n.Kind, len(keys))
		s.noteStrays(p, secretkind.KeyScope(s.prefix, sec.ARN), n, m, keys)
	}
	if group != "" {
		p.groups[group] = l
	}
	return n, l, nil
}

// manager tells who manages sec's keys. Every kind's keys are managed with
// its connection's AWSCURRENT key (see the package documentation): on the
// current-user routes for a connection, on the service account's routes
// (secretkind.TagServiceAccountID) for a managed application key, among
// the organisation's API keys for a managed API key. The connection's
// current document is read once per Run and connection. A managed
// application key whose secret does not name its service account is asked
// of rotation.Rotator.Manager, which reads the key's own document.
func (s *Sweeper) manager(ctx context.Context, n secretkind.Name, sec secretstore.Secret, p *pass) (secretkind.Manager, error) {
	sa := sec.Tags[secretkind.TagServiceAccountID]
	if n.Kind == secretkind.AppKey && sa == "" {
		_, m, err := s.rot.Manager(ctx, sec.ARN)
		return m, err
	}
	cr, ok := p.connections[n.Connection]
	if !ok {
		id := sec.ARN
		if n.Managed() {
			id = secretkind.ConnectionName(n.Connection).SecretName(s.prefix)
		}
		v, err := s.secrets.Get(ctx, id, "", secretstore.Current)
		if err != nil {
			return secretkind.Manager{}, fmt.Errorf("reading connection %s: %w", n.Connection, err)
		}
		doc, err := secretkind.Connection.Parse(v.Value)
		if err != nil {
			return secretkind.Manager{}, fmt.Errorf("connection %s: %w", n.Connection, err)
		}
		if cr, err = secretkind.Connection.Credentials(doc, secretkind.Manager{}); err != nil {
			return secretkind.Manager{}, fmt.Errorf("connection %s: %w", n.Connection, err)
		}
		p.connections[n.Connection] = cr
	}
	m := secretkind.Manager{Credentials: cr}
	if n.Kind == secretkind.AppKey {
		m.Owner = datadog.KeyOwner{ServiceAccountID: sa}
	}
	return m, nil
}

// managerError is a failure to read who manages a secret's keys.
type managerError struct{ err error }

func (e *managerError) Error() string { return "reading who manages the keys: " + e.err.Error() }
func (e *managerError) Unwrap() error { return e.err }

// needsReading reports whether sec may have work for the sweeper, judged
// from what the listings already hold — its metadata as ListSecrets
// returned it and its owner's keys — without reading the secret. Only
// reading the secret (after the keys were listed) can justify deleting a
// key; skipping it deletes nothing, so a secret is skipped only when no
// key could be deleted:
//
//   - no key named for it (owned, in scope or unscoped) that is old enough
//     to be an orphan, unless the key's name carries the token of a
//     version labelled AWSCURRENT or AWSPREVIOUS: that version holds the
//     key its rotation created under its token (a rotation deletes an
//     earlier key of the same name before it creates one), so the key is
//     referenced;
//   - no retirement that may be due: one with a due date still ahead
//     under after:<duration> is not; one under next-rotation is not while
//     its key's name carries the token of a labelled version; any other
//     (when-unused, a key of unknown id or name) is read.
func (s *Sweeper) needsReading(sec secretstore.Secret, n secretkind.Name, scope string, keys []secretkind.Key) bool {
	now := s.now()
	labelledToken := func(k secretkind.Key) bool {
		for _, prefix := range []string{n.DatadogKeyNamePrefix(scope), n.DatadogKeyNamePrefix("")} {
			if tok, ok := strings.CutPrefix(k.Name, prefix); ok {
				labels := sec.Versions[tok]
				return slices.Contains(labels, secretstore.Current) || slices.Contains(labels, secretstore.Previous)
			}
		}
		return false
	}
	byID := map[string]secretkind.Key{}
	for _, k := range keys {
		byID[k.ID] = k
		if n.OwnsKey(scope, k.Name) && s.oldKey(k, now) && !labelledToken(k) {
			return true
		}
	}
	for _, r := range rotationstate.Retirements(sec.Tags) {
		switch {
		case r.KeyID == "" || r.WhenUnused:
			return true
		case !r.Due.IsZero():
			if !now.Before(r.Due) {
				return true
			}
		default:
			k, listed := byID[r.KeyID]
			if !listed || !labelledToken(k) {
				return true
			}
		}
	}
	return false
}
