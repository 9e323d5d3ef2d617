package sweeper

import (
	"context"
	"fmt"
	"log/slog"
)

// PageDetailType is the detail-type of the events a fanned-out sweep
// publishes, one per page of secrets; the rotate function runs RunPage
// for each.
const PageDetailType = "Sweep Page"

// PageRequest is the detail of a PageDetailType event: the cursor that
// starts the page (Pages), and its place among the sweep's pages.
type PageRequest struct {
	Cursor string `json:"cursor"`
	Page   int    `json:"page"`
	Pages  int    `json:"pages"`
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
	cursors, err := s.Pages(ctx)
	if err != nil {
		return 0, err
	}
	for i, c := range cursors {
		if _, err := pub.Publish(ctx, PageDetailType, PageRequest{Cursor: c, Page: i + 1, Pages: len(cursors)}); err != nil {
			return i, fmt.Errorf("publishing sweep page %d of %d: %w", i+1, len(cursors), err)
		}
	}
	s.log.InfoContext(ctx, "sweep fanned out", slog.Int("pages", len(cursors)))
	return len(cursors), nil
}
