package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// listPageSize is the page size `connections list` and `status` ask for
// (the API's most).
const listPageSize = 100

func (a *app) connectionsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:     "connections",
		Aliases: []string{"connection", "conn"},
		Short:   "Create, list, check, change and delete connections",
		Example: `  ddconn connections create prod-us5 --url us5.datadoghq.com --credentials-file keys.json
  ddconn connections list
  ddconn connections get prod-us5 -o json`,
	}
	c.AddCommand(a.connCreate(), a.connList(), a.connGet(), a.connUpdate(), a.connDelete(),
		a.connValidate(), a.connServiceAccounts())
	return c
}

func connPath(name string) string { return "/connections/" + url.PathEscape(name) }

func (a *app) connCreate() *cobra.Command {
	var (
		siteURL, description, team string
		keys                       keySource
	)
	c := &cobra.Command{
		Use:   "create NAME --url URL [--credentials-file FILE|-]",
		Short: "Check a Datadog site's keys and store them as a new connection",
		Long: `Checks the keys at Datadog and stores them as a new connection: one Secrets Manager
secret. The keys come from --credentials-file (a JSON file {"apiKey":"…","applicationKey":"…"},
- for stdin), from the environment variables --api-key-env and --application-key-env
name, or, on a terminal, from a prompt that does not echo them.`,
		Example: `  ddconn connections create prod-us5 --url https://us5.datadoghq.com --credentials-file keys.json
  ddconn connections create checkout --team team-a --url datadoghq.com --credentials-file keys.json
  vault kv get -format=json -field=data secret/datadog | ddconn connections create prod --url datadoghq.com --credentials-file -
  ddconn connections create prod --url datadoghq.eu --api-key-env DD_API_KEY --application-key-env DD_APP_KEY
  ddconn connections create prod --url datadoghq.com    # prompts for both keys`,
		Args: args("NAME"),
		RunE: a.run(func(ctx context.Context, args []string) error {
			if siteURL == "" {
				return usageErrorf("--url is required: the Datadog site, such as https://api.us5.datadoghq.com or datadoghq.eu")
			}
			k, err := a.readKeys(keys)
			if err != nil {
				return err
			}
			body := map[string]any{"name": args[0], "description": description,
				"credentials": map[string]string{"url": siteURL, "apiKey": k.APIKey, "applicationKey": k.ApplicationKey}}
			if team != "" {
				body["team"] = team
			}
			return a.showConnection(ctx, http.MethodPost, "/connections", body)
		}),
	}
	c.Flags().StringVar(&siteURL, "url", "", "the Datadog site or API URL (required)")
	c.Flags().StringVar(&description, "description", "", "what the connection is for")
	c.Flags().StringVar(&team, "team", "", "the team the connection belongs to (one of yours, under an access policy)")
	keys.flags(c.Flags())
	return c
}

// showConnection calls the API for a connection and prints it.
func (a *app) showConnection(ctx context.Context, method, path string, body any) error {
	conn, raw, err := call[connection](ctx, a, method, path, nil, body)
	if err != nil {
		return err
	}
	return a.emit(raw, func(w io.Writer) { a.connectionTable(w, conn) })
}

func (a *app) connectionTable(w io.Writer, c connection) {
	row(w, "NAME", c.Name)
	row(w, "DESCRIPTION", dash(c.Description))
	row(w, "TEAM", dash(c.Team))
	row(w, "SITE", c.Site+" ("+c.Credentials.URL+")")
	row(w, "SECRET", dash(c.SecretARN))
	row(w, "APPLICATION KEY ID", dash(c.ApplicationKeyID))
	if c.Valid != nil {
		row(w, "VALID", yesNo(*c.Valid)+" (checked "+when(c.LastValidatedAt)+")")
	}
	caps := "rotate own key: " + yesNo(c.Capabilities.RotateOwnKey) + ", manage service-account keys: " + yesNo(c.Capabilities.ManageServiceAccountKeys)
	if len(c.Capabilities.MissingPermissions) > 0 {
		caps += " (missing " + strings.Join(c.Capabilities.MissingPermissions, ", ") + ")"
	}
	row(w, "CAPABILITIES", caps)
	if len(c.AllowedServiceAccounts) > 0 {
		row(w, "ALLOWED SERVICE ACCOUNTS", strings.Join(c.AllowedServiceAccounts, ", "))
	}
	a.rotationRows(w, c.Rotation)
	for _, warning := range c.Warnings {
		row(w, "WARNING", a.paint(colourYellow, warning))
	}
}

// rotationRows prints a rotation block as table rows.
func (a *app) rotationRows(w io.Writer, r rotationBlock) {
	state := a.paint(colourYellow, "off")
	if r.Enabled {
		state = a.paint(colourGreen, "on")
	}
	settings := dash(r.Schedule)
	if r.Window != "" {
		settings += ", window " + r.Window
	}
	if r.RevokePrevious != "" {
		settings += ", revoke previous: " + r.RevokePrevious
	}
	row(w, "ROTATION", state+" ("+settings+")")
	row(w, "LAST ROTATED", when(r.LastRotatedAt))
	row(w, "NEXT ROTATION", when(r.NextRotationAt))
	if r.InProgress {
		row(w, "IN PROGRESS", "yes, "+stepPhase(r))
	} else {
		row(w, "IN PROGRESS", "no")
	}
	row(w, "CURRENT KEY ID", dash(r.CurrentKeyID))
	row(w, "PREVIOUS KEY ID", dash(r.PreviousKeyID))
	for _, p := range r.PendingRevocations {
		due := "at the next rotation"
		if p.DueAt != nil {
			due = "from " + when(p.DueAt)
		}
		row(w, "TO REVOKE", p.KeyID+" "+due)
	}
	if r.RevokeByHand != "" {
		row(w, "REVOKE BY HAND", a.paint(colourYellow, r.RevokeByHand))
	}
	if r.LastError != "" {
		row(w, "LAST ERROR", a.paint(colourRed, oneLine(r.LastError, 400)))
	}
	if r.LastWarning != "" {
		row(w, "LAST WARNING", a.paint(colourYellow, oneLine(r.LastWarning, 400)))
	}
}

// listConnections reads every page of the connection list.
func (a *app) listConnections(ctx context.Context) ([]connection, []json.RawMessage, error) {
	api, err := a.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	var (
		conns []connection
		raws  []json.RawMessage
	)
	cursor := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(listPageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page connectionList
		b, err := api.get(ctx, "/connections", q, &page)
		if err != nil {
			return nil, nil, err
		}
		var rawPage struct {
			Connections []json.RawMessage `json:"connections"`
		}
		if err := json.Unmarshal(b, &rawPage); err != nil {
			return nil, nil, fmt.Errorf("decoding the connection list: %w", err)
		}
		conns, raws = append(conns, page.Connections...), append(raws, rawPage.Connections...)
		if page.NextCursor == "" {
			return conns, raws, nil
		}
		cursor = page.NextCursor
	}
}

func (a *app) connList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every connection (metadata only; no key ever comes back)",
		Long:  "Lists every connection, following the API's pages. -o json prints {\"connections\": […]}.",
		Example: `  ddconn connections list
  ddconn connections list -o json | jq -r '.connections[].name'`,
		Args: args(),
		RunE: a.run(func(ctx context.Context, _ []string) error {
			conns, raws, err := a.listConnections(ctx)
			if err != nil {
				return err
			}
			if raws == nil {
				raws = []json.RawMessage{}
			}
			return a.emit(map[string]any{"connections": raws}, func(w io.Writer) {
				row(w, "NAME", "TEAM", "SITE", "ROTATION", "LAST ROTATED", "NEXT ROTATION", "VALID", "DESCRIPTION")
				for _, c := range conns {
					valid := "-"
					if c.Valid != nil {
						valid = yesNo(*c.Valid)
					}
					row(w, c.Name, dash(c.Team), c.Site, onOff(c.Rotation.Enabled), when(c.Rotation.LastRotatedAt),
						when(c.Rotation.NextRotationAt), valid, oneLine(c.Description, 60))
				}
			})
		}),
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (a *app) connGet() *cobra.Command {
	return &cobra.Command{
		Use:               "get NAME",
		Short:             "Show one connection",
		Example:           "  ddconn connections get prod-us5\n  ddconn connections get prod-us5 -o json | jq .rotation",
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			return a.showConnection(ctx, http.MethodGet, connPath(args[0]), nil)
		}),
	}
}

func (a *app) connUpdate() *cobra.Command {
	var (
		description, siteURL, team string
		allowed                    []string
		noAllowed                  bool
		keys                       keySource
	)
	c := &cobra.Command{
		Use:   "update NAME [--description D] [--team T] [--credentials-file FILE|-] [--allowed-service-account ID]…",
		Short: "Change a connection's description, keys or allowed service accounts",
		Long: `Changes what is given. New keys (--credentials-file, --api-key-env/--application-key-env)
are checked at Datadog like on create and stored as a new secret version; the URL stays
the connection's unless --url is given. --allowed-service-account (repeatable) limits the
service accounts managed keys may be minted for; --no-allowed-service-accounts lifts the limit.`,
		Example: `  ddconn connections update prod --description "Production, US5 (platform team)"
  ddconn connections update prod --credentials-file new-keys.json
  ddconn connections update prod --allowed-service-account 00000000-0000-4000-8000-0000000000b2`,
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
	}
	c.RunE = a.run(func(ctx context.Context, args []string) error {
		body := map[string]any{}
		if c.Flags().Changed("description") {
			body["description"] = description
		}
		if c.Flags().Changed("team") {
			body["team"] = team
		}
		switch {
		case noAllowed && len(allowed) > 0:
			return usageErrorf("give --allowed-service-account or --no-allowed-service-accounts, not both")
		case noAllowed:
			body["allowedServiceAccounts"] = []string{}
		case len(allowed) > 0:
			body["allowedServiceAccounts"] = allowed
		}
		if keys.given() {
			k, err := a.readKeys(keys)
			if err != nil {
				return err
			}
			if siteURL == "" {
				conn, _, err := a.getConnection(ctx, args[0])
				if err != nil {
					return err
				}
				siteURL = conn.Credentials.URL
			}
			body["credentials"] = map[string]string{"url": siteURL, "apiKey": k.APIKey, "applicationKey": k.ApplicationKey}
		} else if siteURL != "" {
			return usageErrorf("--url changes with new keys only: give them too (--credentials-file)")
		}
		if len(body) == 0 {
			return usageErrorf("nothing to change: give --description, --team, new keys or allowed service accounts")
		}
		return a.showConnection(ctx, http.MethodPatch, connPath(args[0]), body)
	})
	c.Flags().StringVar(&description, "description", "", "the new description")
	c.Flags().StringVar(&team, "team", "", `move the connection to this team ("" for none; administrators only)`)
	c.Flags().StringVar(&siteURL, "url", "", "with new keys: the Datadog site they belong to (default: the connection's)")
	c.Flags().StringArrayVar(&allowed, "allowed-service-account", nil, "a service account id managed keys may be minted for (repeatable)")
	c.Flags().BoolVar(&noAllowed, "no-allowed-service-accounts", false, "lift the limit on service accounts")
	keys.flags(c.Flags())
	return c
}

func (a *app) connDelete() *cobra.Command {
	var force, keepKeys bool
	c := &cobra.Command{
		Use:   "delete NAME [--force [--keep-keys]]",
		Short: "Schedule a connection's deletion (7-day recovery window), or delete it at once",
		Long: `Without --force the secret is scheduled for deletion with a 7-day recovery window, and
every key keeps working meanwhile. --force deletes it at once and first revokes the keys
ddconn minted for it (its rotations' keys); --keep-keys leaves them in Datadog. A connection
that still has managed keys is not deleted: delete them first.`,
		Example: `  ddconn connections delete old-org
  ddconn connections delete old-org --force`,
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			if keepKeys && !force {
				return usageErrorf("--keep-keys goes with --force")
			}
			q := url.Values{}
			if force {
				q.Set("force", "true")
			}
			if keepKeys {
				q.Set("keepKeys", "true")
			}
			d, raw, err := call[deletion](ctx, a, http.MethodDelete, connPath(args[0]), q, nil)
			if err != nil {
				return err
			}
			return a.emit(raw, func(w io.Writer) {
				if d.RecoveryWindowDays == 0 {
					fmt.Fprintf(w, "deleted connection %s\n", d.Name)
				} else {
					fmt.Fprintf(w, "connection %s is scheduled for deletion on %s (recovery window %d days)\n",
						d.Name, when(&d.DeletionDate), d.RecoveryWindowDays)
				}
				if len(d.RevokedKeyIDs) > 0 {
					fmt.Fprintf(w, "revoked keys: %s\n", strings.Join(d.RevokedKeyIDs, ", "))
				}
			})
		}),
	}
	c.Flags().BoolVar(&force, "force", false, "delete at once, without the recovery window")
	c.Flags().BoolVar(&keepKeys, "keep-keys", false, "with --force: leave the keys ddconn minted in Datadog")
	return c
}

func (a *app) connValidate() *cobra.Command {
	var (
		siteURL string
		keys    keySource
	)
	c := &cobra.Command{
		Use:   "validate [NAME | --url URL --credentials-file FILE|-]",
		Short: "Check a connection's stored keys, or keys before storing them",
		Long: `With NAME, checks the connection's current keys at Datadog and records the result on
the connection. With --url and keys (as for create), checks them and stores nothing.
Exits 7 when a check fails.`,
		Example: `  ddconn connections validate prod-us5
  ddconn connections validate --url datadoghq.com --credentials-file keys.json`,
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			var (
				path string
				body any
			)
			switch {
			case len(args) == 1 && siteURL == "" && !keys.given():
				path = connPath(args[0]) + "/validate"
			case len(args) == 0 && siteURL != "":
				k, err := a.readKeys(keys)
				if err != nil {
					return err
				}
				path = "/connections/validate"
				body = map[string]any{"credentials": map[string]string{"url": siteURL, "apiKey": k.APIKey, "applicationKey": k.ApplicationKey}}
			default:
				return usageErrorf("give a connection's NAME, or --url and the keys to check (not both)")
			}
			v, raw, err := call[validation](ctx, a, http.MethodPost, path, nil, body)
			if err != nil {
				return err
			}
			if err := a.emit(raw, func(w io.Writer) {
				row(w, "CHECK", "OK", "MESSAGE")
				for _, c := range v.Checks {
					ok := a.paint(colourGreen, "yes")
					if !c.OK {
						ok = a.paint(colourRed, "no ")
					}
					msg := c.Message
					if len(c.Missing) > 0 {
						msg += " (missing " + strings.Join(c.Missing, ", ") + ")"
					}
					row(w, c.Name, ok, dash(msg))
				}
			}); err != nil {
				return err
			}
			if !v.Valid {
				return &failedError{msg: "the keys did not pass every check (see above): fix them with " +
					"`ddconn connections update NAME --credentials-file FILE`, or give the key the missing permissions in Datadog"}
			}
			return nil
		}),
	}
	c.Flags().StringVar(&siteURL, "url", "", "check these keys for this Datadog site instead of a stored connection")
	keys.flags(c.Flags())
	return c
}

func (a *app) connServiceAccounts() *cobra.Command {
	return &cobra.Command{
		Use:               "service-accounts NAME",
		Short:             "List the service accounts the connection's keys can see",
		Example:           "  ddconn connections service-accounts prod-us5",
		Args:              args("NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			sa, raw, err := call[serviceAccounts](ctx, a, http.MethodGet, connPath(args[0])+"/service-accounts", nil, nil)
			if err != nil {
				return err
			}
			return a.emit(raw, func(w io.Writer) {
				row(w, "ID", "NAME", "EMAIL", "DISABLED")
				for _, s := range sa.ServiceAccounts {
					row(w, s.ID, s.Name, dash(s.Email), yesNo(s.Disabled))
				}
			})
		}),
	}
}

// completeConnections completes a connection name from the API; errors
// complete nothing.
func (a *app) completeConnections(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	conns, _, err := a.listConnections(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, 0, len(conns))
	for _, c := range conns {
		names = append(names, c.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
