package rotation

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// setSecret has nothing to push to Datadog: the key is live once created.
// It is the confused-deputy guard: the pending document must belong to the
// same owner and site as the current one, so a tampered AWSPENDING value
// cannot make the next steps promote someone else's key.
func (r *Rotator) setSecret(ctx context.Context, n secretkind.Name, sec secretstore.Secret, ev Event) (report, error) {
	cur, err := r.document(ctx, n, sec, "", secretstore.Current)
	if err != nil {
		return report{}, fmt.Errorf("reading the current document: %w", err)
	}
	pend, err := r.document(ctx, n, sec, ev.ClientRequestToken, secretstore.Pending)
	if err != nil {
		return report{}, fmt.Errorf("reading the pending document: %w", err)
	}
	curSite, err := docSite(cur)
	if err != nil {
		return report{}, err
	}
	pendSite, err := docSite(pend)
	if err != nil {
		return report{}, err
	}
	switch {
	case pend.OwnerID != cur.OwnerID || pend.OwnerIsServiceAccount != cur.OwnerIsServiceAccount:
		return report{}, fmt.Errorf("%w: owner %s, current owner %s", ErrMismatch, pend.OwnerID, cur.OwnerID)
	case pendSite != curSite:
		return report{}, fmt.Errorf("%w: site %s, current site %s", ErrMismatch, pendSite.Name, curSite.Name)
	case pend.KeyID == "" || pend.KeyID == cur.KeyID:
		return report{}, fmt.Errorf("%w: the pending version does not hold a new key", ErrMismatch)
	}
	return report{outcome: "confirmed", attrs: []slog.Attr{slog.String("new_key_id", pend.KeyID)}}, nil
}
