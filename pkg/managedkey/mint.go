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
	"github.com/ddconn/ddconn/pkg/managedsecret"
	"github.com/ddconn/ddconn/pkg/rotation"
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

// RotationInput are a managed key's rotation settings.
type RotationInput struct {
	// Schedule is rotation.ParseSchedule's syntax; "" is DefaultSchedule.
	Schedule string `json:"schedule"`
	// Window is the rotation window ("2h"); "" is Secrets Manager's default.
	Window string `json:"window"`
	// RevokePrevious is rotation.ParseRevokePolicy's syntax.
	RevokePrevious string `json:"revokePrevious"`
}

// validMint is a checked MintInput.
type validMint struct {
	name   managedsecret.Name
	in     MintInput
	scopes []string // nil: unscoped
	rules  secretstore.RotationRules
	policy rotation.RevokePolicy
}

func (in MintInput) validate(conn string) (validMint, error) {
	var problems []connection.FieldError
	if !managedsecret.ValidKeyName(in.Name) {
		problems = append(problems, connection.FieldError{Field: "name", Message: managedsecret.KeyNameRule})
	}
	if strings.TrimSpace(in.ServiceAccountID) == "" {
		problems = append(problems, connection.FieldError{Field: "serviceAccountId", Message: "is required"})
	}
	if len(in.Scopes) == 0 && !in.AllowUnscoped {
		problems = append(problems, connection.FieldError{Field: "scopes", Message: `must list at least one permission; an unscoped key has every permission of its service account, so minting one needs "allowUnscoped": true`})
	}
	if slices.Contains(in.Scopes, "") {
		problems = append(problems, connection.FieldError{Field: "scopes", Message: "must not contain an empty string"})
	}
	rules, err := rotation.ParseSchedule(cmpOr(in.Rotation.Schedule, DefaultSchedule), in.Rotation.Window)
	if err != nil {
		problems = append(problems, settingProblem(err))
	}
	policy, err := rotation.ParseRevokePolicy(in.Rotation.RevokePrevious)
	if err != nil {
		problems = append(problems, settingProblem(err))
	}
	if len(problems) > 0 {
		return validMint{}, invalid(problems)
	}
	v := validMint{name: managedsecret.Name{Kind: managedsecret.AppKey, Connection: conn, Key: in.Name},
		in: in, rules: rules, policy: policy}
	if len(in.Scopes) > 0 {
		v.scopes = slices.Clone(in.Scopes)
	}
	return v, nil
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
	v, err := in.validate(conn)
	if err != nil {
		return AppKey{}, err
	}
	mgr, err := s.connection(ctx, conn)
	if err != nil {
		return AppKey{}, err
	}
	if err := s.checkServiceAccount(ctx, mgr, in.ServiceAccountID); err != nil {
		return AppKey{}, err
	}
	secretName := v.name.SecretName(s.opts.Prefix)
	if err := s.checkFree(ctx, secretName); err != nil {
		if s.repeat(ctx, secretName, in.RequestID, v.rules) {
			return s.Get(ctx, conn, in.Name)
		}
		return AppKey{}, err
	}
	owner := datadog.KeyOwner{ServiceAccountID: in.ServiceAccountID}
	if err := s.dropAbandonedAppKeys(ctx, mgr, owner, v.name); err != nil {
		return AppKey{}, err
	}
	mint := managedsecret.Mint{Name: v.name, Started: s.now(), ServiceAccountID: in.ServiceAccountID}
	if err := s.recordMint(ctx, mgr, mint); err != nil {
		return AppKey{}, err
	}
	token := s.tokenFor(in.RequestID)
	key, err := s.dd.CreateAppKey(ctx, mgr.cr, owner, v.name.DatadogKeyName(token), v.scopes)
	if err != nil {
		return AppKey{}, datadogFailure("minting the application key", err)
	}
	if !slices.Equal(key.Scopes, v.scopes) {
		s.discard(ctx, mgr.cr, owner, key.ID)
		return AppKey{}, fail(ErrUnavailable, fmt.Sprintf("Datadog minted the key with scopes %v, not the requested ones; it was deleted", key.Scopes),
			fmt.Errorf("unexpected answer from Datadog: %w", datadog.ErrUnavailable))
	}
	doc := managedsecret.AppKeyDocument{URL: mgr.url, ApplicationKey: key.Key, ApplicationKeyID: key.ID,
		ServiceAccountID: in.ServiceAccountID, Scopes: v.scopes}
	if in.IncludeAPIKey {
		doc.APIKey = mgr.cr.APIKey
	}
	sec, err := s.save(ctx, v, token, doc, mgr.cr, owner)
	if err != nil {
		if s.repeat(ctx, secretName, in.RequestID, v.rules) {
			s.endMint(ctx, mgr, mint)
			return s.Get(ctx, conn, in.Name)
		}
		return AppKey{}, err
	}
	s.endMint(ctx, mgr, mint)
	s.log.InfoContext(ctx, "managed application key minted", slog.String("connection", conn),
		slog.String("name", in.Name), slog.String("service_account_id", in.ServiceAccountID),
		slog.String("application_key_id", key.ID), slog.String("secret_arn", sec.ARN))
	if err := s.enableRotation(ctx, sec.ARN, v.rules); err != nil {
		return AppKey{}, err
	}
	// The document is ours; only the rotation state needs reading back.
	if sec, err = s.store.Describe(ctx, sec.ARN); err != nil {
		return AppKey{}, storeFailure("the key was minted and stored, but reading it back", err)
	}
	return appKeyFrom(v.name, sec, &doc), nil
}

// checkServiceAccount applies the connection's allowed list, then checks
// the account in Datadog.
func (s *Service) checkServiceAccount(ctx context.Context, mgr managerOf, id string) error {
	if allowed, ok := mgr.secret.Tags[TagAllowedServiceAccounts]; ok && !slices.Contains(strings.Fields(allowed), id) {
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

// checkFree fails if the managed key's secret exists, even awaiting deletion.
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

// save creates the secret holding doc; on failure the new key is deleted
// unless the secret may exist after all.
func (s *Service) save(ctx context.Context, v validMint, token string, doc managedsecret.AppKeyDocument, cr datadog.Credentials, owner datadog.KeyOwner) (secretstore.Secret, error) {
	value, err := doc.Marshal()
	if err != nil {
		s.discard(ctx, cr, owner, doc.ApplicationKeyID)
		return secretstore.Secret{}, fail(ErrUnavailable, "encoding the managed key's secret failed", err)
	}
	return s.commit(ctx, withRequest(secretstore.CreateInput{
		Name:        v.name.SecretName(s.opts.Prefix),
		Description: fmt.Sprintf("ddconn managed application key %s of connection %s", v.name.Key, v.name.Connection),
		KMSKeyID:    s.opts.KMSKeyID, Value: value, Token: token,
		Tags: map[string]string{
			connection.TagManagedBy:      connection.ManagedBy,
			TagKind:                      string(managedsecret.AppKey),
			TagConnection:                v.name.Connection,
			TagServiceAccountID:          doc.ServiceAccountID,
			rotation.TagApplicationKeyID: doc.ApplicationKeyID,
			rotation.TagRevokePrevious:   v.policy.String(),
			tagIncludeAPIKey:             strconv.FormatBool(doc.APIKey != ""),
		},
	}, v.in.RequestID), func() { s.discard(ctx, cr, owner, doc.ApplicationKeyID) })
}

// commit creates a managed key's secret: the step that makes the minted
// key someone's. On failure the key is deleted (drop) when it is known to
// be nobody's: nothing was stored, or another mint won the name.
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

func (s *Service) enableRotation(ctx context.Context, arn string, rules secretstore.RotationRules) error {
	if s.opts.RotationFunctionARN == "" {
		return nil
	}
	immediately := false // the key is new: only test the configuration
	_, err := s.store.Rotate(ctx, arn, secretstore.RotateInput{
		LambdaARN: s.opts.RotationFunctionARN, Rules: &rules, RotateImmediately: &immediately,
	})
	if err != nil {
		return storeFailure("the key was minted and stored, but enabling its rotation", err)
	}
	return nil
}

// discard deletes a key nobody will use; a failure is logged with the key
// id (its name says which managed key it was for).
func (s *Service) discard(ctx context.Context, cr datadog.Credentials, owner datadog.KeyOwner, id string) {
	if err := s.dd.DeleteAppKey(ctx, cr, owner, id); err != nil {
		s.log.WarnContext(ctx, "deleting an unused managed application key failed; revoke it by hand",
			slog.String("application_key_id", id), slog.String("service_account_id", owner.ServiceAccountID), slog.Any("error", err))
	}
}
