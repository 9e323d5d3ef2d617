package managedkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/awsid"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/kmsgrant"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// A managed key's readers are the principals, usually in other AWS
// accounts, that may read its secret: IAM roles and users by ARN, or whole
// accounts by id. ddconn gives them exactly that secret, on both sides
// AWS checks for a reader in another account:
//   - the secret's resource policy allows them secretsmanager:GetSecretValue
//     and secretsmanager:DescribeSecret on it (ddconn owns that policy and
//     replaces it whole);
//   - a KMS grant per reader allows kms:Decrypt on the connection key only
//     for an encryption context whose SecretARN is this secret's ARN.
//
// The resource policy is the record of who the readers are: the object's
// readers are read from it. Setting readers is idempotent and safe to
// repeat after a crash at any step:
//  1. the secret is tagged secretkind.TagReaders before anything is shared,
//     so a later delete knows there is something to remove;
//  2. the policy is put (or deleted, for no readers) first: a reader
//     removed loses access there at once, and a reader added cannot read
//     until its grant exists too;
//  3. grants are created for readers without one and revoked for principals
//     no longer readers (a grant already gone counts as revoked);
//  4. with no readers left, the tag is removed last.
// A failure leaves a state the next request, or a delete, completes.

// MaxReaders bounds a managed key's readers.
const MaxReaders = 20

// ReaderRule says what a reader may be.
const ReaderRule = "must be an IAM role or user ARN (arn:aws:iam::<12-digit account>:role/<name> or :user/<name>) or a 12-digit AWS account id"

// readerARN matches the IAM role and user ARNs a reader may be; its
// submatches are the partition and the account.
var readerARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):(?:role|user)/(?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$`)

// maxReaderLen is KMS's bound on a grantee principal.
const maxReaderLen = 256

// readersSid is the Sid of the resource policy statement naming the readers.
const readersSid = "DdconnReaders"

// readerActions are what a reader may do with the secret.
var readerActions = []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}

// KeyGrants is what the Service needs from KMS; *kmsgrant.Grants
// implements it.
type KeyGrants interface {
	List(ctx context.Context, keyID string) ([]kmsgrant.Grant, error)
	Create(ctx context.Context, keyID, grantee, secretARN string) (string, error)
	Revoke(ctx context.Context, keyID, grantID string) error
}

var _ KeyGrants = (*kmsgrant.Grants)(nil)

// UpdateInput is the body of PATCH /connections/{name}/application-keys/{key}
// and …/api-keys/{key}: a field left out is left unchanged.
type UpdateInput struct {
	// Readers, when present, replaces the key's readers; [] removes them all.
	Readers *[]string `json:"readers"`
}

// checkReaders checks a request's readers and returns them in the one
// form ddconn stores and compares: sorted, each once.
func checkReaders(readers []string) ([]string, []connection.FieldError) {
	var problems []connection.FieldError
	if len(readers) > MaxReaders {
		problems = append(problems, connection.FieldError{Field: "readers", Message: fmt.Sprintf("lists at most %d readers", MaxReaders)})
	}
	for i, r := range readers {
		if !awsid.IsAccountID(r) && (len(r) > maxReaderLen || !readerARN.MatchString(r)) {
			problems = append(problems, connection.FieldError{Field: fmt.Sprintf("readers[%d]", i), Message: ReaderRule})
		}
	}
	if len(problems) > 0 || len(readers) == 0 {
		return nil, problems
	}
	out := slices.Clone(readers)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readerAccount is the AWS account of a checked reader.
func readerAccount(r string) string {
	if awsid.IsAccountID(r) {
		return r
	}
	return readerARN.FindStringSubmatch(r)[2]
}

// partitionOf is the partition of an ARN ("aws").
func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[1]
}

// principal is the IAM principal of reader r in partition: an account is
// its root.
func principal(partition, r string) string {
	if awsid.IsAccountID(r) {
		return "arn:" + partition + ":iam::" + r + ":root"
	}
	return r
}

// readerOf is principal's inverse: an account's root is the account.
func readerOf(p string) string {
	parts := strings.Split(p, ":")
	if len(parts) == 6 && parts[2] == "iam" && parts[5] == "root" && awsid.IsAccountID(parts[4]) {
		return parts[4]
	}
	return p
}

// allowReaders refuses readers the caller may not name for a connection
// (sec): in accounts its team may not share with (403), in another
// partition, or at all when the deployment cannot share (no KMS key).
func (s *Service) allowReaders(ctx context.Context, conn secretstore.Secret, readers []string) error {
	if len(readers) == 0 {
		return nil
	}
	if s.opts.Grants == nil || s.opts.KMSKeyID == "" {
		return invalid([]connection.FieldError{{Field: "readers",
			Message: "this deployment encrypts with Secrets Manager's default key, which cannot be shared with other accounts; readers need a KMS key of its own (DDCONN_KMS_KEY_ID)"}})
	}
	accounts := make([]string, 0, len(readers))
	for i, r := range readers {
		if m := readerARN.FindStringSubmatch(r); m != nil && m[1] != partitionOf(conn.ARN) {
			return invalid([]connection.FieldError{{Field: fmt.Sprintf("readers[%d]", i),
				Message: fmt.Sprintf("is in partition %s; this deployment is in %s", m[1], partitionOf(conn.ARN))}})
		}
		accounts = append(accounts, readerAccount(r))
	}
	return access.CheckReaders(ctx, conn.Tags[secretkind.TagTeam], accounts)
}

// readersPolicy is the resource policy that lets principals read the
// secret it is attached to ("*" in a secret's policy is that secret).
func readersPolicy(principals []string) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid": readersSid, "Effect": "Allow",
			"Principal": map[string][]string{"AWS": principals},
			"Action":    readerActions, "Resource": "*",
		}},
	}
	b, _ := json.Marshal(doc) // maps and strings always encode
	return string(b)
}

// policyReaders returns the readers a resource policy names: the
// principals of its readers statement, sorted.
func policyReaders(policy string) ([]string, error) {
	if policy == "" {
		return []string{}, nil
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Principal struct{ AWS json.RawMessage }
		}
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return nil, fmt.Errorf("reading the resource policy: %w", err)
	}
	out := []string{}
	for _, st := range doc.Statement {
		if st.Sid != readersSid {
			continue
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(st.Principal.AWS, &one) == nil:
			many = []string{one}
		case json.Unmarshal(st.Principal.AWS, &many) != nil:
			return nil, errors.New("reading the resource policy: its readers statement has no AWS principals")
		}
		for _, p := range many {
			out = append(out, readerOf(p))
		}
	}
	slices.Sort(out)
	return out, nil
}

// readersOf reads the readers of a managed key's secret: none unless it
// is tagged secretkind.TagReaders, else those of its resource policy.
func (s *Service) readersOf(ctx context.Context, sec secretstore.Secret) ([]string, error) {
	if sec.Tags[secretkind.TagReaders] == "" {
		return []string{}, nil
	}
	policy, err := s.store.Policy(ctx, sec.ARN)
	if err != nil {
		return nil, storeFailure("reading the managed key's readers", err)
	}
	readers, err := policyReaders(policy)
	if err != nil {
		return nil, fail(ErrUnavailable, "the managed key's resource policy is not readable", err)
	}
	return readers, nil
}

// setReaders makes readers exactly the readers of the managed key's secret
// sec, in the order the package comment gives. It is idempotent.
func (s *Service) setReaders(ctx context.Context, sec secretstore.Secret, readers []string) error {
	tagged := sec.Tags[secretkind.TagReaders] != ""
	if len(readers) == 0 && !tagged {
		return nil
	}
	if s.opts.Grants == nil || s.opts.KMSKeyID == "" {
		return fail(ErrUnavailable, "the managed key has readers, but this deployment has no KMS key to manage their grants", nil)
	}
	partition := partitionOf(sec.ARN)
	principals := make([]string, 0, len(readers))
	for _, r := range readers {
		principals = append(principals, principal(partition, r))
	}
	if !tagged {
		if err := s.store.Tag(ctx, sec.ARN, map[string]string{secretkind.TagReaders: "true"}); err != nil {
			return storeFailure("recording the managed key's readers", err)
		}
	}
	if len(principals) > 0 {
		if err := s.store.PutPolicy(ctx, sec.ARN, readersPolicy(principals)); err != nil {
			return storeFailure("setting the managed key's resource policy", err)
		}
	} else if err := s.store.DeletePolicy(ctx, sec.ARN); err != nil && !gone(err) {
		return storeFailure("deleting the managed key's resource policy", err)
	}
	if err := s.reconcileGrants(ctx, sec.ARN, principals); err != nil {
		return err
	}
	if len(principals) == 0 {
		if err := s.store.Untag(ctx, sec.ARN, []string{secretkind.TagReaders}); err != nil && !gone(err) {
			return storeFailure("recording that the managed key has no readers", err)
		}
	}
	s.log.InfoContext(ctx, "managed key readers set", slog.String("secret_arn", sec.ARN), slog.Any("readers", readers))
	return nil
}

// reconcileGrants leaves, on the connection key, exactly one ddconn grant
// for secretARN per principal.
func (s *Service) reconcileGrants(ctx context.Context, secretARN string, principals []string) error {
	key := s.opts.KMSKeyID
	all, err := s.opts.Grants.List(ctx, key)
	if err != nil {
		return kmsFailure("listing the readers' grants", err)
	}
	held := map[string]bool{}
	for _, g := range all {
		if g.Name != kmsgrant.GrantName || g.SecretARN != secretARN {
			continue
		}
		if slices.Contains(principals, g.Grantee) && !held[g.Grantee] {
			held[g.Grantee] = true
			continue
		}
		if err := s.opts.Grants.Revoke(ctx, key, g.ID); err != nil {
			return kmsFailure("revoking a former reader's grant", err)
		}
	}
	for _, p := range principals {
		if held[p] {
			continue
		}
		if _, err := s.opts.Grants.Create(ctx, key, p, secretARN); err != nil {
			return kmsFailure("granting a reader kms:Decrypt", err)
		}
	}
	return nil
}

func kmsFailure(op string, err error) *Error {
	return fail(ErrUnavailable, op+" failed: KMS is unavailable", err)
}

// Update changes the managed application key name of connection conn: its
// readers.
func (s *Service) Update(ctx context.Context, conn, name string, in UpdateInput) (AppKey, error) {
	r, err := s.update(ctx, secretkind.Name{Kind: secretkind.AppKey, Connection: conn, Key: name}, in)
	if err != nil {
		return AppKey{}, err
	}
	return appKeyFrom(r), nil
}

// UpdateAPIKey is Update for a managed API key.
func (s *Service) UpdateAPIKey(ctx context.Context, conn, name string, in UpdateInput) (APIKey, error) {
	r, err := s.update(ctx, secretkind.Name{Kind: secretkind.APIKey, Connection: conn, Key: name}, in)
	if err != nil {
		return APIKey{}, err
	}
	return apiKeyFrom(r), nil
}

func (s *Service) update(ctx context.Context, n secretkind.Name, in UpdateInput) (record, error) {
	var readers []string
	if in.Readers != nil {
		var problems []connection.FieldError
		if readers, problems = checkReaders(*in.Readers); len(problems) > 0 {
			return record{}, invalid(problems)
		}
	}
	r, err := s.get(ctx, n)
	if err != nil || in.Readers == nil {
		return r, err
	}
	conn, err := s.visibleConnection(ctx, n.Connection)
	if err != nil {
		return record{}, err
	}
	if err := s.allowReaders(ctx, conn, readers); err != nil {
		return record{}, err
	}
	if err := s.setReaders(ctx, r.secret, readers); err != nil {
		return record{}, err
	}
	return s.get(ctx, n)
}
