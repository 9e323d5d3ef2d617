package managedkey

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/access"
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
	// Readers may read the key's secret from other accounts (see
	// readers.go): IAM role or user ARNs, or account ids.
	Readers []string `json:"readers"`
	// RequestID, when set, makes the mint idempotent in it (see
	// Service.repeat); event-driven requests set it to the event id.
	RequestID string `json:"-"`
}

// APIKeyInput is the body of POST /connections/{name}/api-keys.
type APIKeyInput struct {
	Name     string        `json:"name"`
	Rotation RotationInput `json:"rotation"`
	// Format is the secret value's format: "json" (the default, a
	// document with the key, its id and the URL) or "plain" (exactly the
	// key; secretkind.FormatPlain).
	Format string `json:"format"`
	// Readers is MintInput.Readers.
	Readers []string `json:"readers"`
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
	// MaxGrace and QuietPeriod are the when-unused policy's parameters
	// (rotationstate.ParseRevokeSettings).
	MaxGrace    string `json:"maxGrace"`
	QuietPeriod string `json:"quietPeriod"`
}

// policy parses the revocation settings.
func (in RotationInput) policy() (rotationstate.RevokePolicy, error) {
	return rotationstate.ParseRevokeSettings(in.RevokePrevious, in.MaxGrace, in.QuietPeriod)
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
	// policy is the revocation policy's stored form (RevokePolicy.Tag).
	policy string
	// format is secretkind.FormatPlain for a plain API key, else "".
	format string
	// readers are the checked readers, sorted; nil for none.
	readers []string
}

func (in MintInput) validate(conn string) (spec, error) {
	v, problems := checkCommon(secretkind.AppKey, conn, in.Name, in.RequestID, in.Rotation, in.Readers)
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
	if len(problems) > 0 {
		return spec{}, invalid(problems)
	}
	v.serviceAccountID, v.includeAPIKey = in.ServiceAccountID, in.IncludeAPIKey
	if len(in.Scopes) > 0 {
		v.scopes = slices.Clone(in.Scopes)
	}
	return v, nil
}

func (in APIKeyInput) validate(conn string) (spec, error) {
	v, problems := checkCommon(secretkind.APIKey, conn, in.Name, in.RequestID, in.Rotation, in.Readers)
	switch in.Format {
	case "", secretkind.FormatJSON:
	case secretkind.FormatPlain:
		v.format = secretkind.FormatPlain
	default:
		problems = append(problems, connection.FieldError{Field: "format", Message: `must be "json" (the default) or "plain"`})
	}
	if len(problems) > 0 {
		return spec{}, invalid(problems)
	}
	return v, nil
}

// checkCommon checks what a mint request of every kind holds: the key's
// name, its rotation settings and its readers. It returns the spec they
// make and the problems found; the caller adds its kind's own.
func checkCommon(k secretkind.Kind, conn, name, requestID string, rot RotationInput, readers []string) (spec, []connection.FieldError) {
	var problems []connection.FieldError
	if !secretkind.ValidName(name) {
		problems = append(problems, connection.FieldError{Field: "name", Message: secretkind.NameRule})
	}
	rules, rulesProblem := parseRules(rot)
	problems = append(problems, rulesProblem...)
	policy, err := rot.policy()
	if err != nil {
		problems = append(problems, settingProblem(err))
	}
	checked, readerProblems := checkReaders(readers)
	problems = append(problems, readerProblems...)
	return spec{name: secretkind.Name{Kind: k, Connection: conn, Key: name}, requestID: requestID,
		rules: rules, policy: policy.Tag(), readers: checked}, problems
}

func parseRules(in RotationInput) (secretstore.RotationRules, []connection.FieldError) {
	rules, err := rotationstate.ParseSchedule(cmp.Or(in.Schedule, DefaultSchedule), in.Window)
	if err != nil {
		return rules, []connection.FieldError{settingProblem(err)}
	}
	return rules, nil
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
// makes it crash safe (see intent.go):
//  1. begin records the intent: the managed key's secret, without a value;
//  2. the connection is read again, so a mint racing a delete of its
//     connection loses or wins cleanly: the delete marks the connection
//     before counting its managed keys, so either it counted this secret
//     and answered connection_in_use, or this mint sees the mark (or the
//     connection gone) and stops;
//  3. the key is created, named after the token;
//  4. storing it as the secret's first version commits; then the readers
//     are given the secret (readers.go) and rotation is enabled.
//
// Any failure after 1 rolls the mint back on the spot (abort); a failed
// rollback, or a crash, leaves the intent to the sweeper.
func (s *Service) mint(ctx context.Context, v spec) (record, error) {
	mgr, err := s.connection(ctx, v.name.Connection)
	if err != nil {
		return record{}, err
	}
	if v.name.Kind == secretkind.AppKey {
		unscoped := len(v.scopes) == 0
		if err := access.CheckGrant(ctx, mgr.secret.Tags[secretkind.TagTeam], v.scopes, unscoped); err != nil {
			return record{}, err
		}
		if err := s.checkServiceAccount(ctx, mgr, v.serviceAccountID); err != nil {
			return record{}, err
		}
	}
	if err := s.allowReaders(ctx, mgr.secret, v.readers); err != nil {
		return record{}, err
	}
	if err := s.checkTombstone(ctx, v); err != nil {
		return record{}, err
	}
	token := s.tokenFor(v.requestID)
	sec, repeated, err := s.begin(ctx, v, mgr, token)
	if err != nil || repeated != nil {
		return deref(repeated), err
	}
	if again, err := s.connection(ctx, v.name.Connection); err != nil || secretkind.Deleting(again.secret.Tags, s.now()) {
		s.dropIntent(ctx, sec)
		return record{}, cmp.Or(err, error(fail(ErrConnectionNotFound, fmt.Sprintf("connection %q is being deleted", v.name.Connection), nil)))
	}
	kind, m := v.name.Kind, mgr.manager(v.serviceAccountID)
	if err := s.checkHeadroom(ctx, kind, m); err != nil {
		s.dropIntent(ctx, sec)
		return record{}, err
	}
	key, err := kind.CreateKey(ctx, s.dd, m, v.name.DatadogKeyName(s.keyScope(sec), token), v.scopes)
	if err != nil {
		if refused(err) {
			s.dropIntent(ctx, sec) // Datadog created nothing
		} else {
			s.abort(ctx, v.name, sec, mgr) // a lost answer may hide a key
		}
		return record{}, datadogFailure("minting the "+kind.Noun(), err)
	}
	if kind.Scoped() && !slices.Equal(key.Scopes, v.scopes) {
		s.abort(ctx, v.name, sec, mgr)
		return record{}, fail(ErrUnavailable, fmt.Sprintf("Datadog minted the key with scopes %v, not the requested ones; it was deleted", key.Scopes),
			fmt.Errorf("unexpected answer from Datadog: %w", datadog.ErrUnavailable))
	}
	doc := secretkind.Document{URL: mgr.url, KeyID: key.ID, Key: key.Key, Scopes: v.scopes,
		OwnerID: v.serviceAccountID, OwnerIsServiceAccount: v.serviceAccountID != ""}
	if v.includeAPIKey {
		doc.APIKey = mgr.cr.APIKey
	}
	if err := s.commit(ctx, v, sec, token, doc, mgr); err != nil {
		return record{}, err
	}
	s.log.InfoContext(ctx, "managed key minted", slog.String("kind", kind.Segment()),
		slog.String("connection", v.name.Connection), slog.String("name", v.name.Key),
		slog.String("service_account_id", v.serviceAccountID), slog.String("key_id", key.ID),
		slog.String("secret_arn", sec.ARN))
	if err := s.setReaders(ctx, sec, v.readers); err != nil {
		return record{}, afterCommit(err)
	}
	if err := s.enableRotation(ctx, sec.ARN, v.rules); err != nil {
		return record{}, err
	}
	// Versions and rotation changed: describe the secret again, but answer
	// from the document just written rather than reading it back.
	if sec, err = s.store.Describe(ctx, sec.ARN); err != nil {
		return record{}, storeFailure("the key was minted and stored, but reading it back", err)
	}
	return record{name: v.name, secret: sec, doc: &doc, readers: v.readers}, nil
}

// afterCommit says of a failure to give the readers a committed key's
// secret that the key exists: asking again (the same mint, or PATCH with
// the readers) finishes it.
func afterCommit(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return fail(e.Kind, "the key was minted and stored, but "+e.Message+"; ask again to finish", e.Err)
}

// checkHeadroom refuses a mint that Datadog's key limit would refuse, with
// a message that says so, rather than a failed create.
func (s *Service) checkHeadroom(ctx context.Context, kind secretkind.Kind, m secretkind.Manager) error {
	keys, err := kind.ListKeys(ctx, s.dd, m)
	if err != nil {
		return datadogFailure("counting the keys already minted", err)
	}
	if err := secretkind.CheckHeadroom(kind, keys, ""); err != nil {
		return fail(ErrKeyLimit, err.Error(), nil)
	}
	return nil
}

// refused reports whether Datadog refused a request outright (401/403 or
// another 4xx): nothing was created.
func refused(err error) bool {
	return errors.Is(err, datadog.ErrUnauthorized) || errors.Is(err, datadog.ErrBadRequest)
}

func deref(r *record) record {
	if r == nil {
		return record{}
	}
	return *r
}

// checkServiceAccount applies the connection's allowed list, then checks
// the account in Datadog.
func (s *Service) checkServiceAccount(ctx context.Context, mgr managerOf, id string) error {
	allowed, limited, err := secretkind.AllowedServiceAccounts(ctx, s.store, mgr.secret.ARN, mgr.secret.Tags)
	if err != nil {
		return storeFailure("reading the connection's allowed service accounts", err)
	}
	if limited && !slices.Contains(allowed, id) {
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

// commit stores the new key as the secret's first version, then tags the
// key id for listings. A failed store that is known to have stored nothing
// rolls the mint back; a lost answer may hide a stored value, so the key
// then stays, and the sweeper decides once the mint is old enough.
func (s *Service) commit(ctx context.Context, v spec, sec secretstore.Secret, token string, doc secretkind.Document, mgr managerOf) error {
	n := v.name
	value, tags, err := secretkind.MarshalVersion(n.Kind, doc, token, v.formatTags(mgr))
	if err != nil {
		s.abort(ctx, n, sec, mgr)
		return fail(ErrUnavailable, "encoding the managed key's secret failed", err)
	}
	if len(tags) > 0 {
		if err := s.store.Tag(ctx, sec.ARN, tags); err != nil {
			s.abort(ctx, n, sec, mgr)
			return storeFailure("recording the managed key's id", err)
		}
	}
	if _, err := s.store.Put(ctx, sec.ARN, token, value, nil, ""); err != nil {
		if _, gerr := s.store.Get(ctx, sec.ARN, "", secretstore.Current); errors.Is(gerr, secretstore.ErrNotFound) {
			s.abort(ctx, n, sec, mgr)
		}
		return storeFailure("storing the managed key", err)
	}
	if err := s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagKeyID: doc.KeyID}); err != nil {
		s.log.WarnContext(ctx, "tagging the managed key's key id failed; the rotate function's sweep sets it",
			slog.String("secret_arn", sec.ARN), slog.Any("error", err))
	}
	return nil
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

// formatTags are the tags that say how the secret's value is stored:
// for a plain API key its format and the URL the value leaves out; none
// for the JSON formats.
func (v spec) formatTags(mgr managerOf) map[string]string {
	if v.format != secretkind.FormatPlain {
		return nil
	}
	return map[string]string{secretkind.TagFormat: secretkind.FormatPlain, secretkind.TagURL: mgr.url}
}
