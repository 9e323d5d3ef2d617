package rotation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Snapshot reads a connection secret's metadata, then the document of each
// labelled version.
func (r *Rotator) Snapshot(ctx context.Context, secretID string) (Snapshot, error) {
	sec, err := r.secrets.Describe(ctx, secretID)
	if err != nil {
		return Snapshot{}, err
	}
	n, err := r.name(sec)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Secret: sec, Docs: map[string]secretkind.Document{}}
	for _, id := range slices.Sorted(maps.Keys(sec.Versions)) {
		if !secretkind.KeyVersion(sec.Versions[id]) {
			continue // a connection's settings (secretkind.SettingsStage)
		}
		d, err := r.document(ctx, n, sec, id, "")
		if isNotFound(err) {
			continue // RotateSecret's value-less AWSPENDING placeholder
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("reading version %s: %w", id, err)
		}
		snap.Docs[id] = d
	}
	return snap, nil
}

// Listing is the keys one owner held when listed (secretkind.Kind.ListKeys).
type Listing struct {
	Owner datadog.KeyOwner
	Keys  []secretkind.Key
}

// Reconciled is what Reconcile did.
type Reconciled struct {
	// Revoked are the ids of retired keys deleted in Datadog (or found gone).
	Revoked []string
	// ByHand is true when a retired key of unknown id came due: the
	// connection now says it must be revoked by hand.
	ByHand bool
	// Unrevocable are the ids of due retired keys that no key the secret
	// holds can revoke (see UnrevocableError); their records stay.
	Unrevocable []string
	// Forced are the ids of keys the when-unused policy's maxGrace revoked
	// while Datadog still reported them in use.
	Forced []string
}

// UnrevocableError says that a retired key is due but belongs to an owner
// the AWSCURRENT key can neither act as nor manage: a user other than the
// current key's owner. Its message names the key and its owner and what to
// do; it never holds key material.
type UnrevocableError struct {
	// Noun names the key's kind ("application key").
	Noun  string
	KeyID string
	Owner rotationstate.Owner
}

func (e *UnrevocableError) Error() string {
	return fmt.Sprintf("%s %s of %s is not revocable by the current key of another owner - restore a key of that owner or revoke it by hand in Datadog",
		e.Noun, e.KeyID, e.Owner)
}

// Reconcile brings a connection in line with its snapshot: it revokes the
// retired keys that are due, reports a due key of unknown id as one to
// revoke by hand, and updates the key-id tags. finishSecret runs it after
// each promotion and the sweeper on schedule; it is idempotent (a key
// already gone counts as revoked).
//
// A retired key is revoked only through a manager of its owner (see
// revoker): the secret's own manager when the key has the AWSCURRENT key's
// owner, or when its record names no owner; the AWSCURRENT credentials on a
// service account's routes when another owner is that service account,
// where Datadog's 404 truly means the key is gone. A key of another user is
// never sent to the current-user routes, whose 404 would only mean "not this
// user's key": its record stays, and Reconcile fails with an
// UnrevocableError until a key of that owner is restored to the secret (the
// next run then revokes it) or someone revokes the key in Datadog and
// removes its retirement tag.
//
// A retirement record is removed only after its key is revoked, so a
// failure leaves it for the next run; the failure is recorded on the secret
// as secretkind.TagLastWarning until a run succeeds.
//
// seen are listings of key owners that the caller made before it read
// snap (the sweeper lists every owner it visits): Reconcile reads a
// retired key's last use from them rather than listing again.
func (r *Rotator) Reconcile(ctx context.Context, snap Snapshot, seen ...Listing) (Reconciled, error) {
	var res Reconciled
	cur, ok := snap.Current()
	if !ok {
		return res, fmt.Errorf("%w: no readable AWSCURRENT version", ErrNotConnection)
	}
	n, err := r.name(snap.Secret)
	if err != nil {
		return res, err
	}
	mgr, err := r.keyManager(ctx, n, cur)
	if err != nil {
		return res, err
	}
	now := r.now()
	set, unset := map[string]string{}, []string{}
	listings := map[datadog.KeyOwner][]secretkind.Key{}
	for _, l := range seen {
		listings[l.Owner] = l.Keys
	}
	var failures []error
	for _, rt := range snap.retirements() {
		if !rt.Ready(now, snap.labels(rt.KeyID)) {
			continue
		}
		if rt.KeyID == "" {
			res.ByHand = true
			set[secretkind.TagRevokeByHand] = secretkind.TagValue(fmt.Sprintf(
				"the application key stored when the connection was created was retired at %s - its id was never identified - revoke it by hand in Datadog",
				now.UTC().Format(time.RFC3339)))
			unset = append(unset, rt.TagKey())
			continue
		}
		m, err := revoker(n.Kind, mgr, cur, rt)
		if err != nil {
			res.Unrevocable = append(res.Unrevocable, rt.KeyID)
			failures = append(failures, err)
			continue
		}
		reason := revokeReason(rt)
		if rt.WhenUnused {
			reason, err = r.whenUnused(ctx, n, m, &rt, now, listings, set)
			if err != nil {
				failures = append(failures, fmt.Errorf("reading when %s %s was last used: %w", n.Kind.Noun(), rt.KeyID, err))
				continue
			}
			if reason == "" {
				continue
			}
			if reason == ReasonMaxGrace {
				r.stillInUse(ctx, n, snap.Secret.ARN, rt, now, set)
				res.Forced = append(res.Forced, rt.KeyID)
			}
		}
		if holder, err := r.heldElsewhere(ctx, snap.Secret.ARN, rt.KeyID); err != nil || holder != "" {
			failures = append(failures, cmp.Or(err, fmt.Errorf("%s %s is also the key of connection %s; it is not revoked while that connection holds it",
				n.Kind.Noun(), rt.KeyID, holder)))
			continue
		}
		if err := n.Kind.RevokeKey(ctx, r.dd, m, rt.KeyID); err != nil {
			if m.Owner != mgr.Owner {
				err = fmt.Errorf("as a manager of %s: %w", rt.Owner, err)
			}
			failures = append(failures, fmt.Errorf("revoking: %w", err))
			continue
		}
		res.Revoked = append(res.Revoked, rt.KeyID)
		delete(set, rt.TagKey())
		unset = append(unset, rt.TagKey())
		r.publish(ctx, RevokedEvent, snap.Secret.ARN, Revoked{Subject: r.subject(n, snap.Secret.ARN), KeyID: rt.KeyID,
			Reason: reason, LastUsedAt: rt.LastUsedAt, RevokedAt: now.UTC()})
	}
	r.keyIDTags(snap, set)
	unset = append(unset, staleKeyOfTags(snap)...)
	r.warningTag(snap, now, failures, set, &unset)
	if len(res.Revoked) > 0 {
		r.countRevoked(len(res.Revoked))
	}
	return res, errors.Join(append(failures, r.applyTags(ctx, snap.Secret.ARN, set, unset))...)
}

// revoker returns the manager that revokes rt's key, given the secret's
// manager mgr and its AWSCURRENT document cur: mgr when the key has cur's
// owner or the record names none; mgr's credentials on the service
// account's routes when the key belongs to another service account; an
// UnrevocableError when it belongs to another user.
func revoker(k secretkind.Kind, mgr secretkind.Manager, cur secretkind.Document, rt rotationstate.Retirement) (secretkind.Manager, error) {
	switch {
	case rt.Owner.ID == "" || rt.Owner.ID == cur.OwnerID:
		return mgr, nil
	case rt.Owner.ServiceAccount:
		return secretkind.Manager{Credentials: mgr.Credentials, Owner: datadog.KeyOwner{ServiceAccountID: rt.Owner.ID}}, nil
	}
	return secretkind.Manager{}, &UnrevocableError{Noun: k.Noun(), KeyID: rt.KeyID, Owner: rt.Owner}
}

// keyIDTags adds to set the key-id tags that differ from the snapshot's
// versions: the AWSCURRENT key and the AWSPREVIOUS key.
func (r *Rotator) keyIDTags(snap Snapshot, set map[string]string) {
	for tag, label := range map[string]string{secretkind.TagKeyID: secretstore.Current, secretkind.TagPreviousKeyID: secretstore.Previous} {
		id, ok := snap.Secret.VersionWith(label)
		if !ok {
			continue
		}
		d, ok := snap.Docs[id]
		if !ok {
			continue
		}
		if snap.Secret.Tags[tag] != d.KeyID {
			set[tag] = d.KeyID
		}
	}
}

// staleKeyOfTags are the key-id tags of a plain API key's versions that
// no longer carry a staging label (secretkind.KeyOfTag): such a version is
// never read again.
func staleKeyOfTags(snap Snapshot) []string {
	var out []string
	for k := range snap.Secret.Tags {
		version, ok := strings.CutPrefix(k, secretkind.TagKeyOfPrefix)
		if _, labelled := snap.Secret.Versions[version]; ok && !labelled {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// warningTag records failed revocations, or clears an old warning once
// every due revocation has succeeded.
func (r *Rotator) warningTag(snap Snapshot, now time.Time, failures []error, set map[string]string, unset *[]string) {
	if len(failures) > 0 {
		set[secretkind.TagLastWarning] = secretkind.TagValue(now.UTC().Format(time.RFC3339) + " " + errors.Join(failures...).Error())
		return
	}
	if _, ok := snap.Secret.Tags[secretkind.TagLastWarning]; ok {
		*unset = append(*unset, secretkind.TagLastWarning)
	}
}

func (r *Rotator) applyTags(ctx context.Context, secretID string, set map[string]string, unset []string) error {
	if len(set) > 0 {
		if err := r.secrets.Tag(ctx, secretID, set); err != nil {
			return err
		}
	}
	if len(unset) > 0 {
		return r.secrets.Untag(ctx, secretID, unset)
	}
	return nil
}

func (r *Rotator) countRevoked(n int) {
	if err := r.metrics.Count(metrics.KeysRevoked, n); err != nil {
		r.log.Warn("writing a metric failed", slog.Any("error", err))
	}
}

// heldElsewhere names a connection, other than the secret secretARN, whose
// current key is keyID: a key created once and stored in several
// connections. Such a key is never revoked.
func (r *Rotator) heldElsewhere(ctx context.Context, secretARN, keyID string) (string, error) {
	secs, err := r.secrets.WithTag(ctx, r.prefix, secretkind.TagKeyID, keyID)
	if err != nil {
		return "", fmt.Errorf("looking for connections holding %s: %w", keyID, err)
	}
	for _, sec := range secs {
		if n, ok := secretkind.ParseName(r.prefix, sec.Name); ok && !n.Managed() && sec.ARN != secretARN {
			return n.Connection, nil
		}
	}
	return "", nil
}

// Reasons of Revoked.Reason.
const (
	// ReasonNextRotation: no labelled version refers to the key any more.
	ReasonNextRotation = "next-rotation"
	// ReasonDue: the key's time came (immediately, or after its grace
	// period).
	ReasonDue = "due"
	// ReasonUnused: when-unused, and Datadog reported the key unused for
	// the quiet period.
	ReasonUnused = "unused"
	// ReasonMaxGrace: when-unused, and maxGrace ran out while the key was
	// still in use (a StillInUseEvent preceded the revocation).
	ReasonMaxGrace = "max-grace"
)

// whenUnused decides a when-unused retirement at now from its key's last
// use, read from a listing made with m (one listing per manager and
// Reconcile, kept in listings). It records the use it read on the
// retirement's tag (in set) and returns the reason to revoke the key now,
// or "" to wait. A key missing from the listing is gone already: revoking
// it again only clears the record.
func (r *Rotator) whenUnused(ctx context.Context, n secretkind.Name, m secretkind.Manager, rt *rotationstate.Retirement,
	now time.Time, listings map[datadog.KeyOwner][]secretkind.Key, set map[string]string) (string, error) {
	keys, ok := listings[m.Owner]
	if !ok {
		var err error
		if keys, err = n.Kind.ListKeys(ctx, r.dd, m); err != nil {
			return "", err
		}
		listings[m.Owner] = keys
	}
	i := slices.IndexFunc(keys, func(k secretkind.Key) bool { return k.ID == rt.KeyID })
	if i < 0 {
		return ReasonUnused, nil
	}
	if rt.Observe(keys[i].LastUsedAt) {
		k, v := rt.Tag()
		set[k] = v
	}
	switch {
	case rt.UnusedAt(now):
		return ReasonUnused, nil
	case !now.Before(rt.Due):
		return ReasonMaxGrace, nil
	}
	return "", nil
}

// stillInUse announces that maxGrace forces the revocation of a key
// Datadog still reports in use: a StillInUseEvent, published before the
// revocation, and the rotation's warning (secretkind.TagForcedRevocation,
// in set).
func (r *Rotator) stillInUse(ctx context.Context, n secretkind.Name, secretARN string, rt rotationstate.Retirement, now time.Time, set map[string]string) {
	lastUsed := "never"
	if rt.LastUsedAt != nil {
		lastUsed = rt.LastUsedAt.UTC().Format(time.RFC3339)
	}
	set[secretkind.TagForcedRevocation] = secretkind.TagValue(fmt.Sprintf(
		"%s %s %s was revoked when maxGrace ran out although it was still in use - last used %s - its consumers must read the secret again",
		now.UTC().Format(time.RFC3339), n.Kind.Noun(), rt.KeyID, lastUsed))
	r.publish(ctx, StillInUseEvent, secretARN, StillInUse{Subject: r.subject(n, secretARN), KeyID: rt.KeyID,
		LastUsedAt: rt.LastUsedAt, MaxGraceEndedAt: rt.Due, RevokingAt: now.UTC()})
	r.log.WarnContext(ctx, "revoking a retired key still in use: maxGrace ran out", slog.String("secret_arn", secretARN),
		slog.String("key_id", rt.KeyID), slog.Any("last_used_at", rt.LastUsedAt))
}

// revokeReason says why a ready retirement is revoked.
func revokeReason(rt rotationstate.Retirement) string {
	if rt.Due.IsZero() {
		return ReasonNextRotation
	}
	return ReasonDue
}
