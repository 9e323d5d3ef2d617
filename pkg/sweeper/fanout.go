package sweeper

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// PageDetailType is the detail-type of the events a fanned-out sweep
// publishes, one per page of secrets; the rotate function runs RunPage
// for each.
const PageDetailType = "Sweep Page"

// PageRequest is one page of a fanned-out sweep (Pages), and the detail of
// its PageDetailType event: the ListSecrets page that starts at Cursor,
// without its first Skip secrets, and the first Take secrets of the page
// that starts at Next. Skip and Take move a run of secrets that share key
// listings (runGroup) from the page it starts in to the page before, so
// that a page boundary does not split it: the page before takes them from
// Next, which is the cursor of the page that skips them.
type PageRequest struct {
	// Cursor starts the page: a ListSecrets NextToken, "" for the first.
	Cursor string `json:"cursor"`
	// Skip is the number of leading secrets the page before sweeps.
	Skip int `json:"skip,omitempty"`
	// Next is the next page's cursor when Take is set.
	Next string `json:"next,omitempty"`
	// Take is the number of leading secrets of the next page this page
	// sweeps: fewer than a page.
	Take int `json:"take,omitempty"`
	// Page is the page's place among the sweep's Pages, from 1.
	Page  int `json:"page"`
	Pages int `json:"pages"`
}

// Publisher puts one event on the bus; *eventbus.Publisher implements it.
type Publisher interface {
	Publish(ctx context.Context, detailType string, detail any, resources ...string) (string, error)
}

// FanOut starts a fanned-out sweep: it lists the pages (ListSecrets only)
// and publishes a PageRequest for each, for the rotate function to sweep
// one page per invocation. It returns the number of pages published. If
// publishing fails part-way it returns the error, and the invocation's
// retry publishes every page again: sweeping a page twice is harmless.
func (s *Sweeper) FanOut(ctx context.Context, pub Publisher) (int, error) {
	pages, err := s.Pages(ctx)
	if err != nil {
		return 0, err
	}
	for i, pg := range pages {
		if _, err := pub.Publish(ctx, PageDetailType, pg); err != nil {
			return i, fmt.Errorf("publishing sweep page %d of %d: %w", pg.Page, pg.Pages, err)
		}
	}
	s.log.InfoContext(ctx, "sweep fanned out", slog.Int("pages", len(pages)))
	return len(pages), nil
}

// Pages lists every secret under the prefix, metadata only, one
// ListSecrets call per page, and returns the pages of RunPage. The pages
// of one call cover every secret once. A fanned-out sweep (see the
// package documentation) hands each page to its own invocation.
//
// Where a page ends inside a run of secrets that share key listings
// (runGroup) and the run ends within the next page, the page takes the
// rest of the run (Take) and the next page skips it (Skip), so each run
// is swept, and its owners' keys listed, by one page. A run that fills
// the next page is split: a page never takes a whole page more. Datadog's
// limit of keys per owner (secretkind.Kind.KeyLimit) keeps one owner's
// managed keys, and so a run, shorter than a page.
func (s *Sweeper) Pages(ctx context.Context) ([]PageRequest, error) {
	var pages []PageRequest
	var prev []secretstore.Secret // the previous page's secrets
	for cursor := ""; ; {
		secs, next, err := s.secrets.ListIncludingDeletedByName(ctx, s.prefix, pageSize, cursor)
		if err != nil {
			return nil, fmt.Errorf("listing connection secrets: %w", err)
		}
		pg := PageRequest{Cursor: cursor}
		if n := s.runContinued(prev, secs); n > 0 {
			before := &pages[len(pages)-1]
			before.Next, before.Take = cursor, n
			pg.Skip = n
		}
		pages = append(pages, pg)
		if next == "" {
			break
		}
		prev, cursor = secs, next
	}
	for i := range pages {
		pages[i].Page, pages[i].Pages = i+1, len(pages)
	}
	return pages, nil
}

// runContinued is the number of leading secrets of page that continue the
// run the previous page ends in (runGroup), or 0 when there is none or it
// fills the page.
func (s *Sweeper) runContinued(prev, page []secretstore.Secret) int {
	if len(prev) == 0 {
		return 0
	}
	g := s.runGroup(prev[len(prev)-1])
	if g == "" {
		return 0
	}
	for i, sec := range page {
		if s.runGroup(sec) != g {
			return i
		}
	}
	return 0
}

// RunPage sweeps one page of Pages, one invocation's share of a fanned-out
// sweep, whose work does not grow with the number of secrets: at most a
// ListSecrets page, less its first pg.Skip secrets, plus pg.Take secrets
// of the next. Its key listings are shared within the page only. A stray
// it sees is revoked only once its secret is read again and found gone
// (revokeStrays), since the page does not list every secret.
func (s *Sweeper) RunPage(ctx context.Context, pg PageRequest) (Report, error) {
	start := s.now()
	p := newPass()
	var errs []error
	if secs, err := s.pageSecrets(ctx, pg); err != nil {
		errs = append(errs, err)
	} else {
		s.visitAll(ctx, secs, p)
		errs = append(errs, s.revokeStrays(ctx, p))
	}
	return s.finish(ctx, "sweep page finished", start, p, errs)
}

// pageSecrets lists pg's secrets: its ListSecrets page without the first
// pg.Skip, then pg.Take from pg.Next, in as many calls as ListSecrets
// takes to return them.
func (s *Sweeper) pageSecrets(ctx context.Context, pg PageRequest) ([]secretstore.Secret, error) {
	secs, _, err := s.secrets.ListIncludingDeletedByName(ctx, s.prefix, pageSize, pg.Cursor)
	if err != nil {
		return nil, fmt.Errorf("listing connection secrets: %w", err)
	}
	secs = secs[min(pg.Skip, len(secs)):]
	if pg.Next == "" {
		return secs, nil
	}
	for cursor, want := pg.Next, len(secs)+min(pg.Take, pageSize); cursor != "" && len(secs) < want; {
		more, next, err := s.secrets.ListIncludingDeletedByName(ctx, s.prefix, want-len(secs), cursor)
		if err != nil {
			return nil, fmt.Errorf("listing the secrets this page takes from the next: %w", err)
		}
		secs, cursor = append(secs, more...), next
	}
	return secs, nil
}

// runGroup names the run, adjacent in name order, of the secrets a page
// boundary should not split: a managed key's kind and connection (the
// name prefix its secret shares with the connection's other managed keys
// of the kind, whatever service account holds each, so one page lists
// every owner of theirs once), else managerGroup's. "" for a secret that
// shares no listing.
func (s *Sweeper) runGroup(sec secretstore.Secret) string {
	n, ok := secretkind.ParseName(s.prefix, sec.Name)
	switch {
	case !ok:
		return ""
	case n.Managed():
		return secretkind.Prefix(s.prefix, n.Kind, n.Connection)
	}
	return managerGroup(n, sec)
}
