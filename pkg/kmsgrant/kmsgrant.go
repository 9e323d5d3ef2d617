package kmsgrant

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/ddconn/ddconn/pkg/awsconfig"
)

// GrantName names every grant ddconn creates.
const GrantName = "ddconn-reader"

// ContextKey is the encryption context key Secrets Manager sets to the
// secret's ARN when it encrypts or decrypts a value.
const ContextKey = "SecretARN"

// Options configures Grants: the AWS configuration its client is built
// from. Endpoint "" lets the SDK resolve the endpoint, which honours
// AWS_ENDPOINT_URL_KMS.
type Options = awsconfig.Options

// Grants creates, lists and revokes the readers' grants on a KMS key. It
// is safe for concurrent use.
type Grants struct {
	kms *kms.Client
}

// New loads the AWS configuration once and builds the KMS client.
func New(ctx context.Context, opts Options) (*Grants, error) {
	cfg, err := awsconfig.Load(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("kmsgrant: %w", err)
	}
	return &Grants{kms: kms.NewFromConfig(cfg)}, nil
}

// Grant is one grant of a key, as ddconn reads it.
type Grant struct {
	ID, Name, Grantee string
	Operations        []string
	// SecretARN is the grant's EncryptionContextSubset SecretARN; "" when
	// it has none.
	SecretARN string
}

// List returns every grant of keyID (every page of ListGrants).
func (g *Grants) List(ctx context.Context, keyID string) ([]Grant, error) {
	var out []Grant
	p := kms.NewListGrantsPaginator(g.kms, &kms.ListGrantsInput{KeyId: aws.String(keyID), Limit: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("listing the grants of", keyID, err)
		}
		for _, e := range page.Grants {
			gr := Grant{ID: aws.ToString(e.GrantId), Name: aws.ToString(e.Name), Grantee: aws.ToString(e.GranteePrincipal)}
			for _, op := range e.Operations {
				gr.Operations = append(gr.Operations, string(op))
			}
			if e.Constraints != nil {
				gr.SecretARN = e.Constraints.EncryptionContextSubset[ContextKey]
			}
			out = append(out, gr)
		}
	}
	return out, nil
}

// Create grants grantee (a principal ARN) Decrypt on keyID for the secret
// secretARN only, and returns the grant's id. A retry with the same
// arguments returns the same grant.
func (g *Grants) Create(ctx context.Context, keyID, grantee, secretARN string) (string, error) {
	out, err := g.kms.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId:            aws.String(keyID),
		GranteePrincipal: aws.String(grantee),
		Operations:       []types.GrantOperation{types.GrantOperationDecrypt},
		Constraints:      &types.GrantConstraints{EncryptionContextSubset: map[string]string{ContextKey: secretARN}},
		Name:             aws.String(GrantName),
	})
	if err != nil {
		return "", wrap("creating a grant on", keyID, err)
	}
	return aws.ToString(out.GrantId), nil
}

// Revoke deletes grant grantID of keyID; a grant that no longer exists is
// no error.
func (g *Grants) Revoke(ctx context.Context, keyID, grantID string) error {
	_, err := g.kms.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: aws.String(keyID), GrantId: aws.String(grantID)})
	if err != nil && errors.Is(kindOf(err), ErrNotFound) {
		return nil
	}
	return wrap("revoking grant "+grantID+" of", keyID, err)
}

// Sentinel outcomes; every *Error wraps exactly one of them.
var (
	// ErrNotFound: the key (or the grant) does not exist.
	ErrNotFound = errors.New("kms key or grant not found")
	// ErrInvalid: KMS refused the request's parameters or a quota.
	ErrInvalid = errors.New("kms refused the request")
	// ErrUnavailable: KMS could not be reached, throttled or failed with a
	// server error after the SDK's retries.
	ErrUnavailable = errors.New("kms is unavailable")
)

// Error is a failed KMS call.
type Error struct {
	// Op is the operation, such as "creating a grant on"; ID the key.
	Op, ID string

	kind  error
	cause error
}

func (e *Error) Error() string {
	return fmt.Sprintf("kmsgrant: %s %s: %v: %v", e.Op, e.ID, e.kind, e.cause)
}

// Unwrap exposes the sentinel and the SDK's error to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.kind, e.cause} }

func wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, ID: id, kind: kindOf(err), cause: err}
}

func kindOf(err error) error {
	var (
		notFound *types.NotFoundException
		quota    ratelimit.QuotaExceededError
		apiErr   smithy.APIError
	)
	switch {
	case errors.As(err, &notFound):
		return ErrNotFound
	case errors.As(err, &quota):
		return ErrUnavailable
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "ThrottlingException":
		return ErrUnavailable
	case errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer && httpStatus(err) < 500:
		return ErrInvalid
	default:
		// Server faults (KMSInternalException, DependencyTimeoutException),
		// transport failures and cancelled contexts.
		return ErrUnavailable
	}
}

// httpStatus is the HTTP status of the response that failed, 0 if none.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
