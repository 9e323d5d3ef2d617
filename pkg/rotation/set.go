package rotation

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/secretstore"
)

// setSecret has nothing to push to Datadog: the key is live once created.
// It is the confused-deputy guard: the pending document must belong to the
// same owner and site as the current one, so a tampered AWSPENDING value
// cannot make the next steps promote someone else's key.
func (r *Rotator) setSecret(ctx context.Context, sec secretstore.Secret, ev Event) (report, error) {
	sub, _ := subjectOf(r.prefix, sec.Name) // check accepted the name
	cur, err := r.document(ctx, sub, sec.ARN, "", secretstore.Current)
	if err != nil {
		return report{}, fmt.Errorf("reading the current document: %w", err)
	}
	pend, err := r.document(ctx, sub, sec.ARN, ev.ClientRequestToken, secretstore.Pending)
	if err != nil {
		return report{}, fmt.Errorf("reading the pending document: %w", err)
	}
	curCr, err := credentials(cur)
	if err != nil {
		return report{}, err
	}
	pendCr, err := credentials(pend)
	if err != nil {
		return report{}, err
	}
	switch {
	case pend.OwnerID != cur.OwnerID || pend.OwnerIsServiceAccount != cur.OwnerIsServiceAccount:
		return report{}, fmt.Errorf("%w: owner %s, current owner %s", ErrMismatch, pend.OwnerID, cur.OwnerID)
	case pendCr.Site != curCr.Site:
		return report{}, fmt.Errorf("%w: site %s, current site %s", ErrMismatch, pendCr.Site.Name, curCr.Site.Name)
	case pend.ApplicationKeyID == "" || pend.ApplicationKeyID == cur.ApplicationKeyID:
		return report{}, fmt.Errorf("%w: the pending version does not hold a new key", ErrMismatch)
	}
	return report{outcome: "confirmed", attrs: []slog.Attr{slog.String("new_key_id", pend.ApplicationKeyID)}}, nil
}
