package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// keyKind is one kind of managed key: its API path, its list's field and
// how the commands name it.
type keyKind struct {
	command string // ddconn's command
	path    string // the API's path segment
	noun    string
}

var (
	applicationKeys = keyKind{command: "keys", path: "application-keys", noun: "managed application key"}
	apiKeys         = keyKind{command: "api-keys", path: "api-keys", noun: "managed API key"}
)

func keyPath(k keyKind, conn string) string { return connPath(conn) + "/" + k.path }

// rotationFlags are a managed key's rotation settings.
type rotationFlags struct{ schedule, window, revoke string }

func (r *rotationFlags) flags(f *pflag.FlagSet, revoke bool) {
	f.StringVar(&r.schedule, "schedule", "", "when to rotate it (default rate(30 days))")
	f.StringVar(&r.window, "window", "", "how long after the scheduled time a rotation may start, Nh")
	if revoke {
		f.StringVar(&r.revoke, "revoke-previous", "", "when a replaced key is revoked: next-rotation (default), immediately or after:DURATION")
	}
}

func (r rotationFlags) body() map[string]string {
	b := map[string]string{}
	for k, v := range map[string]string{"schedule": r.schedule, "window": r.window, "revokePrevious": r.revoke} {
		if v != "" {
			b[k] = v
		}
	}
	return b
}

// readerFlag adds --reader, the principals that may read a key's secret.
func readerFlag(f *pflag.FlagSet, readers *[]string) {
	f.StringArrayVar(readers, "reader", nil, "an IAM role or user ARN, or a 12-digit account id, that may read the key's secret "+
		"from its own account (repeatable; at most 20)")
}

func (a *app) keysCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "Mint, list, show and delete managed application keys (service-account keys for consumers)",
		Long: `A managed application key belongs to a service account, has exactly the scopes asked for,
lives in a secret of its own (<prefix>keys/CONNECTION/NAME) that the consumer reads, and is
rotated like a connection. ddconn never shows the key itself.`,
		Example: `  ddconn keys create prod metrics-writer --service-account 00000000-0000-4000-8000-0000000000b2 --scope metrics_read
  ddconn keys list prod`,
	}
	c.AddCommand(a.keysCreate(), a.keysList(applicationKeys), a.keysGet(applicationKeys), a.keysUpdate(applicationKeys),
		a.keysDelete(applicationKeys), a.keysRollback(applicationKeys))
	return c
}

func (a *app) apiKeysCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "api-keys",
		Short: "Mint, list, show and delete managed API keys",
		Long: `A managed API key is one of the organisation's API keys, in a secret of its own
(<prefix>api-keys/CONNECTION/NAME), rotated by alternating two keys. The connection's key
needs api_keys_read, api_keys_write and api_keys_delete.`,
		Example: `  ddconn api-keys create prod agent --schedule 'rate(7 days)'
  ddconn api-keys list prod`,
	}
	c.AddCommand(a.apiKeysCreate(), a.keysList(apiKeys), a.keysGet(apiKeys), a.keysUpdate(apiKeys), a.keysDelete(apiKeys),
		a.keysRollback(apiKeys))
	return c
}

func (a *app) keysCreate() *cobra.Command {
	var (
		serviceAccount          string
		scopes                  []string
		allowUnscoped, withAPIK bool
		rot                     rotationFlags
		readers                 []string
	)
	c := &cobra.Command{
		Use:   "create CONNECTION NAME --service-account ID --scope SCOPE…",
		Short: "Mint a managed application key for a service account",
		Long: `Mints an application key for the service account with exactly the scopes given (--scope,
repeatable or comma-separated), stores it in its own secret and turns its rotation on.
Without --scope the key would have every permission of its service account: that needs
--allow-unscoped. --include-api-key also stores the connection's API key in the secret.
--reader lets a role, user or account (usually another team's AWS account) read the secret:
ddconn sets its resource policy and a KMS grant for each.`,
		Example: `  ddconn keys create prod metrics-writer --service-account 00000000-0000-4000-8000-0000000000b2 --scope metrics_read
  ddconn keys create prod dashboards --service-account $SA --scope dashboards_read,dashboards_write --include-api-key --schedule 'rate(7 days)'
  ddconn keys create prod checkout --service-account $SA --scope metrics_read --reader arn:aws:iam::222222222222:role/checkout`,
		Args:              args("CONNECTION", "NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			if serviceAccount == "" {
				return usageErrorf("--service-account is required: `ddconn connections service-accounts %s` lists them", args[0])
			}
			if scopes == nil {
				scopes = []string{}
			}
			body := map[string]any{"name": args[1], "serviceAccountId": serviceAccount, "scopes": scopes,
				"allowUnscoped": allowUnscoped, "includeApiKey": withAPIK, "rotation": rot.body()}
			if readers != nil {
				body["readers"] = readers
			}
			return a.showKey(ctx, applicationKeys, http.MethodPost, keyPath(applicationKeys, args[0]), body)
		}),
	}
	c.Flags().StringVar(&serviceAccount, "service-account", "", "the id of the service account the key belongs to (required)")
	c.Flags().StringSliceVar(&scopes, "scope", nil, "a permission the key gets (repeatable, or comma-separated)")
	c.Flags().BoolVar(&allowUnscoped, "allow-unscoped", false, "allow a key without scopes (every permission of its service account)")
	c.Flags().BoolVar(&withAPIK, "include-api-key", false, "also store the connection's API key in the key's secret")
	readerFlag(c.Flags(), &readers)
	rot.flags(c.Flags(), true)
	return c
}

func (a *app) apiKeysCreate() *cobra.Command {
	var (
		rot     rotationFlags
		readers []string
	)
	c := &cobra.Command{
		Use:   "create CONNECTION NAME",
		Short: "Mint a managed API key",
		Example: "  ddconn api-keys create prod agent --schedule 'rate(7 days)'\n" +
			"  ddconn api-keys create prod forwarder --reader 222222222222",
		Args:              args("CONNECTION", "NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			body := map[string]any{"name": args[1], "rotation": rot.body()}
			if readers != nil {
				body["readers"] = readers
			}
			return a.showKey(ctx, apiKeys, http.MethodPost, keyPath(apiKeys, args[0]), body)
		}),
	}
	readerFlag(c.Flags(), &readers)
	rot.flags(c.Flags(), false)
	return c
}

// showKey calls a route that answers a managed key and prints it.
func (a *app) showKey(ctx context.Context, kind keyKind, method, path string, body any) error {
	k, raw, err := call[managedKey](ctx, a, method, path, nil, body)
	if err != nil {
		return err
	}
	return a.emit(raw, func(w io.Writer) {
		row(w, "NAME", k.Name)
		row(w, "CONNECTION", k.Connection)
		row(w, "KIND", kind.noun)
		row(w, "KEY ID", dash(k.keyID()))
		if kind == applicationKeys {
			row(w, "SERVICE ACCOUNT", dash(k.ServiceAccountID))
			row(w, "SCOPES", dash(strings.Join(k.Scopes, ", ")))
			row(w, "INCLUDES API KEY", yesNo(k.IncludeAPIKey))
		}
		row(w, "SECRET", dash(k.SecretName))
		row(w, "SECRET ARN", dash(k.SecretARN))
		row(w, "READERS", dash(strings.Join(k.Readers, ", ")))
		row(w, "CREATED", when(k.CreatedAt))
		a.rotationRows(w, k.Rotation)
	})
}

func (a *app) keysList(kind keyKind) *cobra.Command {
	return &cobra.Command{
		Use:               "list CONNECTION",
		Short:             "List a connection's " + kind.noun + "s",
		Example:           "  ddconn " + kind.command + " list prod\n  ddconn " + kind.command + " list prod -o json",
		Args:              args("CONNECTION"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			keys, raw, err := a.listKeys(ctx, kind, args[0])
			if err != nil {
				return err
			}
			return a.emit(raw, func(w io.Writer) {
				row(w, "NAME", "KEY ID", "ROTATION", "LAST ROTATED", "NEXT ROTATION", "SECRET")
				for _, k := range keys {
					row(w, k.Name, dash(k.keyID()), onOff(k.Rotation.Enabled), when(k.Rotation.LastRotatedAt),
						when(k.Rotation.NextRotationAt), k.SecretName)
				}
			})
		}),
	}
}

// listKeys reads a connection's managed keys of one kind.
func (a *app) listKeys(ctx context.Context, kind keyKind, conn string) ([]managedKey, []byte, error) {
	list, raw, err := call[managedKeyList](ctx, a, http.MethodGet, keyPath(kind, conn), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	if kind == apiKeys {
		return list.APIKeys, raw, nil
	}
	return list.ApplicationKeys, raw, nil
}

func (a *app) keysGet(kind keyKind) *cobra.Command {
	return &cobra.Command{
		Use:               "get CONNECTION NAME",
		Short:             "Show one " + kind.noun,
		Example:           "  ddconn " + kind.command + " get prod metrics-writer",
		Args:              args("CONNECTION", "NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			return a.showKey(ctx, kind, http.MethodGet, keyPath(kind, args[0])+"/"+url.PathEscape(args[1]), nil)
		}),
	}
}

func (a *app) keysUpdate(kind keyKind) *cobra.Command {
	var (
		readers   []string
		noReaders bool
	)
	c := &cobra.Command{
		Use:   "update CONNECTION NAME --reader ARN|ACCOUNT… | --no-readers",
		Short: "Change who may read a " + kind.noun + "'s secret",
		Long: "Replaces the key's readers: its secret's resource policy and the readers' KMS grants follow, " +
			"and former readers' grants are revoked. --no-readers removes them all.",
		Example: "  ddconn " + kind.command + " update prod metrics-writer --reader 222222222222 --reader arn:aws:iam::333333333333:role/ci\n" +
			"  ddconn " + kind.command + " update prod metrics-writer --no-readers",
		Args:              args("CONNECTION", "NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			switch {
			case noReaders && readers != nil:
				return usageErrorf("give --reader or --no-readers, not both")
			case !noReaders && readers == nil:
				return usageErrorf("give the new readers (--reader, repeatable) or --no-readers")
			case noReaders:
				readers = []string{}
			}
			return a.showKey(ctx, kind, http.MethodPatch, keyPath(kind, args[0])+"/"+url.PathEscape(args[1]),
				map[string]any{"readers": readers})
		}),
	}
	readerFlag(c.Flags(), &readers)
	c.Flags().BoolVar(&noReaders, "no-readers", false, "remove every reader")
	return c
}

func (a *app) keysRollback(kind keyKind) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback CONNECTION NAME",
		Short: "Make a " + kind.noun + "'s previous key current again, when it still works",
		Long: "Moves AWSCURRENT back to the previous version (no new key is made) when its key still works, " +
			"and retires the rolled-back key under the revocation policy. Refused (exit 3) when the previous key " +
			"is already revoked - rotate instead - or while a rotation runs.",
		Example:           "  ddconn " + kind.command + " rollback prod metrics-writer",
		Args:              args("CONNECTION", "NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			return a.showKey(ctx, kind, http.MethodPost, keyPath(kind, args[0])+"/"+url.PathEscape(args[1])+"/rotation/rollback", nil)
		}),
	}
}

func (a *app) keysDelete(kind keyKind) *cobra.Command {
	var keepKeys bool
	c := &cobra.Command{
		Use:   "delete CONNECTION NAME [--keep-keys]",
		Short: "Revoke a " + kind.noun + " in Datadog and delete its secret",
		Long: "Revokes every key ddconn minted for it (--keep-keys leaves them in Datadog), then deletes " +
			"its secret at once, so the name can be minted again.",
		Example:           "  ddconn " + kind.command + " delete prod metrics-writer",
		Args:              args("CONNECTION", "NAME"),
		ValidArgsFunction: a.completeConnections,
		RunE: a.run(func(ctx context.Context, args []string) error {
			q := url.Values{}
			if keepKeys {
				q.Set("keepKeys", "true")
			}
			if _, _, err := call[json.RawMessage](ctx, a, http.MethodDelete, keyPath(kind, args[0])+"/"+url.PathEscape(args[1]), q, nil); err != nil {
				return err
			}
			res := map[string]any{"connection": args[0], "name": args[1], "deleted": true, "keepKeys": keepKeys}
			raw, _ := json.Marshal(res)
			return a.emit(raw, func(w io.Writer) {
				what := "revoked and deleted"
				if keepKeys {
					what = "deleted (its keys stay in Datadog)"
				}
				fmt.Fprintf(w, "%s %s of %s: %s\n", kind.noun, args[1], args[0], what)
			})
		}),
	}
	c.Flags().BoolVar(&keepKeys, "keep-keys", false, "leave the keys in Datadog")
	return c
}
