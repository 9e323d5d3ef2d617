package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// statusConcurrency bounds the managed-key listings status runs at once.
const statusConcurrency = 4

// statusRow is one connection in `ddconn status`.
type statusRow struct {
	Name           string     `json:"name"`
	Team           string     `json:"team"`
	Site           string     `json:"site"`
	Rotation       bool       `json:"rotationEnabled"`
	InProgress     bool       `json:"rotationInProgress"`
	LastRotatedAt  *time.Time `json:"lastRotatedAt"`
	NextRotationAt *time.Time `json:"nextRotationAt"`
	LastError      string     `json:"lastError"`
	ManagedKeys    int        `json:"managedKeys"`
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "One table of every connection: team, site, rotation, last and next rotation, last error, managed keys",
		Long: `Shows every connection you may see, at a glance: its team, its site, whether rotation is on (and
running), when it last rotated and will next, the last rotation error, and how many managed
keys (application and API keys) it has. Colour only on a terminal. -o json prints
{"connections": [{"name", "team", "site", "rotationEnabled", "rotationInProgress", "lastRotatedAt",
"nextRotationAt", "lastError", "managedKeys"}]}.`,
		Example: `  ddconn status
  ddconn status -o json | jq -r '.connections[] | select(.lastError != "") | .name'`,
		Args: args(),
		RunE: a.run(func(ctx context.Context, _ []string) error {
			rows, err := a.status(ctx)
			if err != nil {
				return err
			}
			return a.emit(map[string]any{"connections": rows}, func(w io.Writer) {
				if len(rows) == 0 {
					fmt.Fprintln(w, "no connections: create one with `ddconn connections create NAME --url URL --credentials-file FILE`")
					return
				}
				row(w, "NAME", "TEAM", "SITE", "ROTATION", "LAST ROTATED", "NEXT ROTATION", "KEYS", "LAST ERROR")
				for _, r := range rows {
					state := a.paint(colourYellow, "off    ")
					switch {
					case r.InProgress:
						state = a.paint(colourYellow, "running")
					case r.Rotation:
						state = a.paint(colourGreen, "on     ")
					}
					row(w, r.Name, dash(r.Team), r.Site, state, when(r.LastRotatedAt), when(r.NextRotationAt),
						fmt.Sprint(r.ManagedKeys), a.paint(colourRed, oneLine(r.LastError, 80)))
				}
			})
		}),
	}
}

// status lists the connections and counts each one's managed keys.
func (a *app) status(ctx context.Context) ([]statusRow, error) {
	conns, _, err := a.listConnections(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]statusRow, len(conns))
	errs := make([]error, len(conns))
	sem := make(chan struct{}, statusConcurrency)
	var wg sync.WaitGroup
	for i, c := range conns {
		r := c.Rotation
		rows[i] = statusRow{Name: c.Name, Team: c.Team, Site: c.Site, Rotation: r.Enabled, InProgress: r.InProgress,
			LastRotatedAt: r.LastRotatedAt, NextRotationAt: r.NextRotationAt, LastError: r.LastError}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, kind := range []keyKind{applicationKeys, apiKeys} {
				keys, _, err := a.listKeys(ctx, kind, c.Name)
				if err != nil {
					errs[i] = fmt.Errorf("counting the %ss of %s: %w", kind.noun, c.Name, err)
					return
				}
				rows[i].ManagedKeys += len(keys)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}
