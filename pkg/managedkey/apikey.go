package managedkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedsecret"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// APIKeyInput is the body of POST /connections/{name}/api-keys.
type APIKeyInput struct {
	Name string `json:"name"`
	// Rotation's RevokePrevious must be empty: API keys alternate, the key
	// a rotation replaces lives until the next rotation deletes it.
	Rotation RotationInput `json:"rotation"`
	// RequestID, when set, makes the mint idempotent in it (see
	// Service.repeat); event-driven requests set it to the event id.
	RequestID string `json:"-"`
}

// APIKey is a managed API key as the API shows it: never the key.
type APIKey struct {
	Connection string         `json:"connection"`
	Name       string         `json:"name"`
	APIKeyID   string         `json:"apiKeyId"`
	SecretARN  string         `json:"secretArn"`
	SecretName string         `json:"secretName"`
	CreatedAt  time.Time      `json:"createdAt"`
	Rotation   rotation.State `json:"rotation"`
}

func apiKeyFrom(n managedsecret.Name, sec secretstore.Secret, doc *managedsecret.APIKeyDocument) APIKey {
	k := APIKey{Connection: n.Connection, Name: n.Key, APIKeyID: sec.Tags[rotation.TagApplicationKeyID],
		SecretARN: sec.ARN, SecretName: sec.Name, CreatedAt: sec.CreatedAt, Rotation: rotation.StateOf(sec)}
	if doc != nil {
		k.APIKeyID = doc.APIKeyID
	}
	return k
}

func (in APIKeyInput) validate(conn string) (managedsecret.Name, secretstore.RotationRules, error) {
	var problems []connection.FieldError
	if !managedsecret.ValidKeyName(in.Name) {
		problems = append(problems, connection.FieldError{Field: "name", Message: managedsecret.KeyNameRule})
	}
	rules, err := rotation.ParseSchedule(cmpOr(in.Rotation.Schedule, DefaultSchedule), in.Rotation.Window)
	if err != nil {
		problems = append(problems, settingProblem(err))
	}
	if in.Rotation.RevokePrevious != "" {
		problems = append(problems, connection.FieldError{Field: "rotation.revokePrevious",
			Message: "API keys alternate - the key a rotation replaces is deleted by the next one"})
	}
	if len(problems) > 0 {
		return managedsecret.Name{}, rules, invalid(problems)
	}
	return managedsecret.Name{Kind: managedsecret.APIKey, Connection: conn, Key: in.Name}, rules, nil
}

// MintAPIKey mints a managed API key with the connection's current keys
// (api_keys_write), stores it in its own secret and enables its rotation.
// The order is Mint's: the key's name records the intent, the secret
// commits, and a key whose secret is known not to exist is deleted.
func (s *Service) MintAPIKey(ctx context.Context, conn string, in APIKeyInput) (APIKey, error) {
	n, rules, err := in.validate(conn)
	if err != nil {
		return APIKey{}, err
	}
	mgr, err := s.connection(ctx, conn)
	if err != nil {
		return APIKey{}, err
	}
	secretName := n.SecretName(s.opts.Prefix)
	if err := s.checkFree(ctx, secretName); err != nil {
		if s.repeat(ctx, secretName, in.RequestID, rules) {
			return s.GetAPIKey(ctx, conn, n.Key)
		}
		return APIKey{}, err
	}
	if err := s.dropAbandonedAPIKeys(ctx, mgr, n); err != nil {
		return APIKey{}, err
	}
	mint := managedsecret.Mint{Name: n, Started: s.now()}
	if err := s.recordMint(ctx, mgr, mint); err != nil {
		return APIKey{}, err
	}
	token := s.tokenFor(in.RequestID)
	keyName := n.DatadogKeyName(token)
	if in.RequestID != "" {
		// API key names are unique in an organisation, so concurrent
		// deliveries of one request each name their key after the attempt
		// too; the losers of the race for the secret delete theirs.
		keyName += "/" + s.token()[:8]
	}
	key, err := s.dd.CreateAPIKey(ctx, mgr.cr, keyName)
	if err != nil {
		return APIKey{}, datadogFailure("minting the API key", err)
	}
	doc := managedsecret.APIKeyDocument{URL: mgr.url, APIKey: key.Key, APIKeyID: key.ID}
	value, err := doc.Marshal()
	if err != nil {
		s.discardAPIKey(ctx, mgr, key.ID)
		return APIKey{}, fail(ErrUnavailable, "encoding the managed key's secret failed", err)
	}
	sec, err := s.commit(ctx, withRequest(secretstore.CreateInput{
		Name:        secretName,
		Description: fmt.Sprintf("ddconn managed API key %s of connection %s", n.Key, conn),
		KMSKeyID:    s.opts.KMSKeyID, Value: value, Token: token,
		Tags: map[string]string{
			connection.TagManagedBy:      connection.ManagedBy,
			TagKind:                      string(managedsecret.APIKey),
			TagConnection:                conn,
			rotation.TagApplicationKeyID: key.ID,
		},
	}, in.RequestID), func() { s.discardAPIKey(ctx, mgr, key.ID) })
	if err != nil {
		if s.repeat(ctx, secretName, in.RequestID, rules) {
			s.endMint(ctx, mgr, mint)
			return s.GetAPIKey(ctx, conn, n.Key)
		}
		return APIKey{}, err
	}
	s.endMint(ctx, mgr, mint)
	s.log.InfoContext(ctx, "managed API key minted", slog.String("connection", conn), slog.String("name", n.Key),
		slog.String("api_key_id", key.ID), slog.String("secret_arn", sec.ARN))
	if err := s.enableRotation(ctx, sec.ARN, rules); err != nil {
		return APIKey{}, err
	}
	// The document is ours; only the rotation state needs reading back.
	if sec, err = s.store.Describe(ctx, sec.ARN); err != nil {
		return APIKey{}, storeFailure("the key was minted and stored, but reading it back", err)
	}
	return apiKeyFrom(n, sec, &doc), nil
}

// GetAPIKey returns the managed API key name of connection conn.
func (s *Service) GetAPIKey(ctx context.Context, conn, name string) (APIKey, error) {
	n, sec, err := s.describe(ctx, managedsecret.APIKey, conn, name)
	if err != nil {
		return APIKey{}, err
	}
	v, err := s.store.Get(ctx, sec.ARN, "", secretstore.Current)
	if err != nil {
		return APIKey{}, storeFailure("reading the managed key", err)
	}
	doc, err := managedsecret.ParseAPIKeyDocument(v.Value)
	if err != nil {
		return APIKey{}, fail(ErrUnavailable, "the managed key's secret is not readable", err)
	}
	return apiKeyFrom(n, sec, &doc), nil
}

// ListAPIKeys returns every managed API key of connection conn.
func (s *Service) ListAPIKeys(ctx context.Context, conn string) ([]APIKey, error) {
	out := []APIKey{}
	err := s.each(ctx, managedsecret.APIKey, conn, func(n managedsecret.Name, sec secretstore.Secret) {
		out = append(out, apiKeyFrom(n, sec, nil))
	})
	return out, err
}

// DeleteAPIKey deletes every API key ddconn minted for the managed key
// (unless keepKeys): those named under its prefix and those a labelled
// version holds, then its secret. The connection's own API key is never
// one of them.
func (s *Service) DeleteAPIKey(ctx context.Context, conn, name string, keepKeys bool) error {
	return s.remove(ctx, managedsecret.APIKey, conn, name, keepKeys, s.revokeAPIKeys)
}

func (s *Service) revokeAPIKeys(ctx context.Context, n managedsecret.Name, sec secretstore.Secret) ([]string, error) {
	mgr, err := s.connection(ctx, n.Connection)
	if err != nil {
		return nil, err
	}
	var held []string
	for version := range sec.Versions {
		v, err := s.store.Get(ctx, sec.ARN, version, "")
		if errors.Is(err, secretstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeFailure("reading the managed key", err)
		}
		if d, err := managedsecret.ParseAPIKeyDocument(v.Value); err == nil && d.APIKey != mgr.cr.APIKey {
			held = append(held, d.APIKeyID)
		}
	}
	keys, err := s.dd.ListAPIKeys(ctx, mgr.cr)
	if err != nil {
		return nil, datadogFailure("listing API keys", err)
	}
	var revoked []string
	for _, k := range keys {
		if !strings.HasPrefix(k.Name, n.DatadogKeyNamePrefix()) && !slices.Contains(held, k.ID) {
			continue
		}
		if err := s.dd.DeleteAPIKey(ctx, mgr.cr, k.ID); err != nil {
			return revoked, datadogFailure(fmt.Sprintf("deleting API key %s", k.ID), err)
		}
		revoked = append(revoked, k.ID)
	}
	return revoked, nil
}

func (s *Service) discardAPIKey(ctx context.Context, mgr managerOf, id string) {
	if err := s.dd.DeleteAPIKey(ctx, mgr.cr, id); err != nil {
		s.log.WarnContext(ctx, "deleting an unused managed API key failed; delete it by hand",
			slog.String("api_key_id", id), slog.Any("error", err))
	}
}
