package managedkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// DefaultSchedule is the rotation schedule of a key minted without one.
const DefaultSchedule = "rate(30 days)"

// MintInput is the body of POST /connections/{name}/application-keys.
type MintInput struct {
	Name             string   `json:"name"`
	ServiceAccountID string   `json:"serviceAccountId"`
	Scopes           []string `json:"scopes"`
	// AllowUnscoped permits an empty scope list: an unscoped key.
	AllowUnscoped bool          `json:"allowUnscoped"`
	Rotation      RotationInput `json:"rotation"`
	// IncludeAPIKey stores a copy of the connection's API key in the
	// secret, refreshed by every rotation.
	IncludeAPIKey bool `json:"includeApiKey"`
	// RequestID, when set, makes the mint idempotent in it (see
	// Service.repeat); event-driven requests set it to the event id.
	RequestID string `json:"-"`
}

// APIKeyInput is the body of POST /connections/{name}/api-keys.
type APIKeyInput struct {
	Name     string        `json:"name"`
	Rotation RotationInput `json:"rotation"`
	// RequestID is MintInput.RequestID.
	RequestID string `json:"-"`
}

// RotationInput are a managed key's rotation settings.
type RotationInput struct {
	// Schedule is rotationstate.ParseSchedule's syntax; "" is DefaultSchedule.
	Schedule string `json:"schedule"`
	// Window is the rotation window ("2h"); "" is Secrets Manager's default.
	Window string `json:"window"`
	// RevokePrevious is rotationstate.ParseRevokePolicy's syntax.
	RevokePrevious string `json:"revokePrevious"`
}

// spec is a checked mint request of either kind: everything mint needs.
type spec struct {
	name      secretkind.Name
	requestID string
	// serviceAccountID owns a managed application key's keys; "" for an
	// API key.
	serviceAccountID string
	scopes           []string // nil: unscoped, or an unscoped kind
	includeAPIKey    bool
	rules            secretstore.RotationRules
	// policy is "" for an API key: the default, next-rotation.
	policy string
}

func (in MintInput) validate(conn string) (spec, error) {
	var problems []connection.FieldError
	if !secretkind.ValidName(in.Name) {
		problems = append(problems, connection.FieldError{Field: "name", Message: secretkind.NameRule})
	}
	if strings.TrimSpace(in.ServiceAccountID) == "" {
		problems = append(problems, connection.FieldError{Field: "serviceAccountId", Message: "is required"})
	} else if _, ok := connection.ServiceAccountID(in.ServiceAccountID); !ok {
		problems = append(problems, connection.FieldError{Field: "serviceAccountId", Message: connection.ServiceAccountIDRule})
	}
	if len(in.Scopes) == 0 && !in.AllowUnscoped {
		problems = append(problems, connection.FieldError{Field: "scopes", Message: `must list at least one permission; an unscoped key has every permission of its service account, so minting one needs "allowUnscoped": true`})
	}
	if slices.Contains(in.Scopes, "") {
		problems = append(problems, connection.FieldError{Field: "scopes", Message: "must not contain an empty string"})
	}
	rules, rulesProblem := parseRules(in.Rotation)
	problems = append(problems, rulesProblem...)
	policy, err := rotationstate.ParseRevokePolicy(in.Rotation.RevokePrevious)
	if err != nil {
		problems = append(problems, settingProblem(err))
	}
	if len(problems) > 0 {
		return spec{}, invalid(problems)
	}
	v := spec{name: secretkind.Name{Kind: secretkind.AppKey, Connection: conn, Key: in.Name},
		requestID: in.RequestID, serviceAccountID: in.ServiceAccountID, includeAPIKey: in.IncludeAPIKey,
		rules: rules, policy: policy.String()}
	if len(in.Scopes) > 0 {
		v.scopes = slices.Clone(in.Scopes)
	}
	return v, nil
}

func (in APIKeyInput) validate(conn string) (spec, error) {
	var problems []connection.FieldError
	if !secretkind.ValidName(in.Name) {
		problems = append(problems, connection.FieldError{Field: "name", Message: secretkind.NameRule})
	}
	rules, rulesProblem := parseRules(in.Rotation)
	problems = append(problems, rulesProblem...)
	if in.Rotation.RevokePrevious != "" {
		problems = append(problems, connection.FieldError{Field: "rotation.revokePrevious",
			Message: "API keys alternate - the key a rotation replaces is deleted by the next one"})
	}
	if len(problems) > 0 {
		return spec{}, invalid(problems)
	}
	return spec{name: secretkind.Name{Kind: secretkind.APIKey, Connection: conn, Key: in.Name},
		requestID: in.RequestID, rules: rules}, nil
}

func parseRules(in RotationInput) (secretstore.RotationRules, []connection.FieldError) {
	rules, err := rotationstate.ParseSchedule(cmpOr(in.Schedule, DefaultSchedule), in.Window)
	if err != nil {
		return rules, []connection.FieldError{settingProblem(err)}
	}
	return rules, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Mint mints a managed application key for connection conn: see the
// package documentation for the guards and the order of the steps.
func (s *Service) Mint(ctx context.Context, conn string, in MintInput) (AppKey, error) {
	v, err := in.normalised().validate(conn)
	if err != nil {
		return AppKey{}, err
	}
	r, err := s.mint(ctx, v)
	if err != nil {
		return AppKey{}, err
	}
	return appKeyFrom(r), nil
}

// MintAPIKey mints a managed API key with the connection's current keys
// (api_keys_write), stores it in its own secret and enables its rotation,
// in Mint's order.
func (s *Service) MintAPIKey(ctx context.Context, conn string, in APIKeyInput) (APIKey, error) {
	v, err := in.validate(conn)
	if err != nil {
		return APIKey{}, err
	}
	r, err := s.mint(ctx, v)
	if err != nil {
		return APIKey{}, err
	}
	return apiKeyFrom(r), nil
}

// mint carries out a checked request of either kind. The order is what
// makes it crash safe:
//  1. the mint's intent is tagged on the connection (secretkind.Mint) and
//     the key's name is derived from the token, so a key created and never
//     stored is found again by the retry or the sweeper;
//  2. creating the secret commits; a key whose secret is known not to exist
//     is deleted at once;
//  3. the intent tag goes, and rotation is enabled.
func (s *Service) mint(ctx context.Context, v spec) (record, error) {
	mgr, err := s.connection(ctx, v.name.Connection)
	if err != nil {
		return record{}, err
	}
	if v.name.Kind == secretkind.AppKey {
		if err := s.checkServiceAccount(ctx, mgr, v.serviceAccountID); err != nil {
			return record{}, err
		}
	}
	secretName := v.name.SecretName(s.opts.Prefix)
	if err := s.checkFree(ctx, secretName); err != nil {
		if s.repeat(ctx, secretName, v.requestID, v.rules) {
			return s.get(ctx, v.name)
		}
		return record{}, err
	}
	m := mgr.manager(v.serviceAccountID)
	if err := s.dropAbandoned(ctx, v.name, m); err != nil {
		return record{}, err
	}
	intent := secretkind.Mint{Name: v.name, Started: s.now(), ServiceAccountID: v.serviceAccountID}
	if err := s.recordMint(ctx, mgr, intent); err != nil {
		return record{}, err
	}
	token := s.tokenFor(v.requestID)
	keyName := v.name.DatadogKeyName(token)
	if v.name.Kind == secretkind.APIKey && v.requestID != "" {
		// API key names are unique in an organisation: concurrent
		// deliveries of one request each need a name of their own.
		keyName += "/" + s.token()[:8]
	}
	kind := v.name.Kind
	key, err := kind.CreateKey(ctx, s.dd, m, keyName, v.scopes)
	if err != nil {
		return record{}, datadogFailure("minting the "+kind.Noun(), err)
	}
	if kind.Scoped() && !slices.Equal(key.Scopes, v.scopes) {
		s.discard(ctx, kind, m, key.ID)
		return record{}, fail(ErrUnavailable, fmt.Sprintf("Datadog minted the key with scopes %v, not the requested ones; it was deleted", key.Scopes),
			fmt.Errorf("unexpected answer from Datadog: %w", datadog.ErrUnavailable))
	}
	doc := secretkind.Document{URL: mgr.url, KeyID: key.ID, Key: key.Key, Scopes: v.scopes,
		OwnerID: v.serviceAccountID, OwnerIsServiceAccount: v.serviceAccountID != ""}
	if v.includeAPIKey {
		doc.APIKey = mgr.cr.APIKey
	}
	sec, err := s.save(ctx, v, token, doc, func() { s.discard(ctx, kind, m, key.ID) })
	if err != nil {
		if s.repeat(ctx, secretName, v.requestID, v.rules) {
			s.endMint(ctx, mgr, intent)
			return s.get(ctx, v.name)
		}
		return record{}, err
	}
	s.endMint(ctx, mgr, intent)
	s.log.InfoContext(ctx, "managed key minted", slog.String("kind", kind.Segment()),
		slog.String("connection", v.name.Connection), slog.String("name", v.name.Key),
		slog.String("service_account_id", v.serviceAccountID), slog.String("key_id", key.ID),
		slog.String("secret_arn", sec.ARN))
	if err := s.enableRotation(ctx, sec.ARN, v.rules); err != nil {
		return record{}, err
	}
	// The secret's rotation fields changed: describe it again, but answer
	// from the document just written rather than reading it back.
	if sec, err = s.store.Describe(ctx, sec.ARN); err != nil {
		return record{}, storeFailure("the key was minted and stored, but reading it back", err)
	}
	return record{name: v.name, secret: sec, doc: &doc}, nil
}

// checkServiceAccount applies the connection's allowed list, then checks
// the account in Datadog.
func (s *Service) checkServiceAccount(ctx context.Context, mgr managerOf, id string) error {
	if allowed, ok := mgr.secret.Tags[secretkind.TagAllowedServiceAccounts]; ok && !slices.Contains(strings.Fields(allowed), id) {
		return fail(ErrNotAllowed, fmt.Sprintf("the connection does not mint keys for service account %s (allowedServiceAccounts)", id), nil)
	}
	accounts, err := s.dd.ListServiceAccounts(ctx, mgr.cr)
	if err != nil {
		return datadogFailure("reading the service accounts", err)
	}
	i := slices.IndexFunc(accounts, func(u datadog.User) bool { return u.ID == id })
	switch {
	case i < 0:
		return fail(ErrServiceAccount, fmt.Sprintf("no service account %s: it does not exist or is not a service account", id), nil)
	case accounts[i].Disabled || !accounts[i].ServiceAccount:
		return fail(ErrServiceAccount, fmt.Sprintf("service account %s is disabled", id), nil)
	}
	return nil
}

// checkFree fails with ErrExists when the managed key's secret exists,
// even scheduled for deletion (its name is not free until it is gone).
func (s *Service) checkFree(ctx context.Context, secretName string) error {
	_, err := s.store.Describe(ctx, secretName)
	switch {
	case err == nil:
		return fail(ErrExists, "a managed key of that name exists", nil)
	case !errors.Is(err, secretstore.ErrNotFound):
		return storeFailure("checking the managed key's name", err)
	}
	return nil
}

// save stores a new managed key's secret: the commit of a mint. drop
// deletes the new key; it runs when the secret is known not to exist.
func (s *Service) save(ctx context.Context, v spec, token string, doc secretkind.Document, drop func()) (secretstore.Secret, error) {
	value, err := v.name.Kind.Marshal(doc)
	if err != nil {
		drop()
		return secretstore.Secret{}, fail(ErrUnavailable, "encoding the managed key's secret failed", err)
	}
	tags := map[string]string{
		secretkind.TagManagedBy:  secretkind.ManagedBy,
		secretkind.TagKind:       v.name.Kind.Segment(),
		secretkind.TagConnection: v.name.Connection,
		secretkind.TagKeyID:      doc.KeyID,
	}
	if v.name.Kind == secretkind.AppKey {
		tags[secretkind.TagServiceAccountID] = doc.OwnerID
		tags[secretkind.TagRevokePrevious] = v.policy
		tags[secretkind.TagIncludeAPIKey] = strconv.FormatBool(doc.APIKey != "")
	}
	return s.commit(ctx, withRequest(secretstore.CreateInput{
		Name:        v.name.SecretName(s.opts.Prefix),
		Description: fmt.Sprintf("ddconn managed %s %s of connection %s", v.name.Kind.Noun(), v.name.Key, v.name.Connection),
		KMSKeyID:    s.opts.KMSKeyID, Value: value, Token: token, Tags: tags,
	}, v.requestID), drop)
}

// commit creates a managed key's secret. On failure the new key is dropped
// only when the secret is known not to exist: a lost answer may hide a
// secret that was created, and deleting its key would leave it dead.
func (s *Service) commit(ctx context.Context, in secretstore.CreateInput, drop func()) (secretstore.Secret, error) {
	sec, err := s.store.Create(ctx, in)
	if err == nil {
		return sec, nil
	}
	if _, derr := s.store.Describe(ctx, in.Name); errors.Is(derr, secretstore.ErrNotFound) || errors.Is(err, secretstore.ErrExists) {
		drop()
	}
	if errors.Is(err, secretstore.ErrExists) {
		return secretstore.Secret{}, fail(ErrExists, "a managed key of that name exists", err)
	}
	return secretstore.Secret{}, storeFailure("storing the managed key", err)
}

// enableRotation turns on the secret's rotation without rotating now: the
// key is new, so Secrets Manager only tests the configuration.
func (s *Service) enableRotation(ctx context.Context, arn string, rules secretstore.RotationRules) error {
	if s.opts.RotationFunctionARN == "" {
		return nil
	}
	immediately := false
	_, err := s.store.Rotate(ctx, arn, secretstore.RotateInput{
		LambdaARN: s.opts.RotationFunctionARN, Rules: &rules, RotateImmediately: &immediately,
	})
	if err != nil {
		return storeFailure("the key was minted and stored, but enabling its rotation", err)
	}
	return nil
}

// discard deletes a key nobody will use; a failure is logged, and the
// key's name lets the sweeper find it.
func (s *Service) discard(ctx context.Context, k secretkind.Kind, m secretkind.Manager, id string) {
	if err := k.RevokeKey(ctx, s.dd, m, id); err != nil {
		s.log.WarnContext(ctx, "deleting an unused managed key failed; the sweeper will",
			slog.String("key_id", id), slog.String("service_account_id", m.Owner.ServiceAccountID), slog.Any("error", err))
	}
}
