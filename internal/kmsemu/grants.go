package kmsemu

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Error types (the wire "__type") the emulator answers with.
const (
	typeNotFound         = "NotFoundException"
	typeValidation       = "ValidationException"
	typeInvalidGrantID   = "InvalidGrantIdException"
	typeInvalidMarker    = "InvalidMarkerException"
	typeInternal         = "KMSInternalException"
	typeUnknownOperation = "UnknownOperationException"
	typeSerialization    = "SerializationException"
)

type apiError struct{ Type, Message string }

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func (e *apiError) status() int {
	if e.Type == typeInternal {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func newAPIError(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

func errConstraint(field, constraint string) *apiError {
	return newAPIError(typeValidation, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member %s", field, constraint)
}

func errKeyNotFound(id string) *apiError {
	return newAPIError(typeNotFound, "Key '%s' does not exist", id)
}

// grantOperations are the operations a grant may allow (GrantOperation).
var grantOperations = []string{
	"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
	"Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
	"GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
}

var grantNamePattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

type keyIDInput struct{ KeyId string }

type createKeyInput struct{ Description string }

type keyMetadata struct {
	KeyId, Arn, Description, KeyState, KeyUsage, KeySpec, Origin, KeyManager string
	AWSAccountId                                                             string
	Enabled                                                                  bool
	CreationDate                                                             float64
}

type keyMetadataOutput struct{ KeyMetadata keyMetadata }

func (e *Emulator) metadata(k *key) keyMetadataOutput {
	return keyMetadataOutput{KeyMetadata: keyMetadata{
		KeyId: k.ID, Arn: k.ARN, Description: k.Description, KeyState: "Enabled", KeyUsage: "ENCRYPT_DECRYPT",
		KeySpec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS", KeyManager: "CUSTOMER", AWSAccountId: e.opts.AccountID,
		Enabled: true, CreationDate: epoch(k.Created),
	}}
}

func (e *Emulator) createKey(in createKeyInput) (keyMetadataOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := newKeyID()
	k := &key{ID: id, ARN: e.KeyARN(id), Description: in.Description, Created: e.opts.Now().UTC()}
	e.keys[id] = k
	return e.metadata(k), nil
}

func (e *Emulator) describeKey(in keyIDInput) (keyMetadataOutput, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := e.keyFor(in.KeyId)
	if err != nil {
		return keyMetadataOutput{}, err
	}
	return e.metadata(k), nil
}

func (e *Emulator) keyFor(id string) (*key, error) {
	if id == "" {
		return nil, errConstraint("keyId", "must not be null")
	}
	k := e.lookup(id)
	if k == nil {
		return nil, errKeyNotFound(id)
	}
	return k, nil
}

type createGrantInput struct {
	KeyId             string
	GranteePrincipal  string
	RetiringPrincipal string
	Operations        []string
	Constraints       *constraints
	Name              string
	GrantTokens       []string
	DryRun            bool
}

type createGrantOutput struct{ GrantId, GrantToken string }

func (in createGrantInput) check() error {
	switch {
	case in.GranteePrincipal == "" || len(in.GranteePrincipal) > 256:
		return errConstraint("granteePrincipal", "must have length between 1 and 256")
	case len(in.RetiringPrincipal) > 256:
		return errConstraint("retiringPrincipal", "must have length less than or equal to 256")
	case len(in.Operations) == 0:
		return errConstraint("operations", "must not be empty")
	case in.Name != "" && (len(in.Name) > 256 || !grantNamePattern.MatchString(in.Name)):
		return errConstraint("name", "must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
	}
	for _, op := range in.Operations {
		if !slices.Contains(grantOperations, op) {
			return errConstraint("operations", "must satisfy enum value set: "+fmt.Sprint(grantOperations))
		}
	}
	return nil
}

// createGrant adds a grant to a key. With a Name, a grant of the same
// name and identical parameters is returned instead of a new one.
func (e *Emulator) createGrant(in createGrantInput) (createGrantOutput, error) {
	if err := in.check(); err != nil {
		return createGrantOutput{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := e.keyFor(in.KeyId)
	if err != nil {
		return createGrantOutput{}, err
	}
	token := newID(48)
	if in.Name != "" {
		for _, g := range k.Grants {
			if g.same(in) {
				g.Tokens = append(g.Tokens, token)
				return createGrantOutput{GrantId: g.ID, GrantToken: token}, nil
			}
		}
	}
	if in.DryRun {
		return createGrantOutput{}, newAPIError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	}
	e.seq++
	g := &grant{Seq: e.seq, ID: newID(32), Name: in.Name, GranteePrincipal: in.GranteePrincipal,
		RetiringPrincipal: in.RetiringPrincipal, Operations: slices.Clone(in.Operations), Constraints: in.Constraints,
		Tokens: []string{token}, Created: e.opts.Now().UTC()}
	k.Grants = append(k.Grants, g)
	return createGrantOutput{GrantId: g.ID, GrantToken: token}, nil
}

// same reports whether g is what in asks for: a retry of its CreateGrant.
func (g *grant) same(in createGrantInput) bool {
	sameConstraints := func(a, b *constraints) bool {
		if a == nil || b == nil {
			return a == b
		}
		return maps.Equal(a.EncryptionContextSubset, b.EncryptionContextSubset) &&
			maps.Equal(a.EncryptionContextEquals, b.EncryptionContextEquals)
	}
	return g.Name == in.Name && g.GranteePrincipal == in.GranteePrincipal && g.RetiringPrincipal == in.RetiringPrincipal &&
		slices.Equal(slices.Sorted(slices.Values(g.Operations)), slices.Sorted(slices.Values(in.Operations))) &&
		sameConstraints(g.Constraints, in.Constraints)
}

type listGrantsInput struct {
	KeyId            string
	Limit            *int
	Marker           string
	GrantId          string
	GranteePrincipal string
}

type grantEntry struct {
	KeyId             string       `json:"KeyId"`
	GrantId           string       `json:"GrantId"`
	Name              string       `json:"Name,omitempty"`
	CreationDate      float64      `json:"CreationDate"`
	GranteePrincipal  string       `json:"GranteePrincipal"`
	RetiringPrincipal string       `json:"RetiringPrincipal,omitempty"`
	IssuingAccount    string       `json:"IssuingAccount"`
	Operations        []string     `json:"Operations"`
	Constraints       *constraints `json:"Constraints,omitempty"`
}

type listGrantsOutput struct {
	Grants     []grantEntry `json:"Grants"`
	NextMarker string       `json:"NextMarker,omitempty"`
	Truncated  bool         `json:"Truncated"`
}

// defaultListLimit and maxListLimit bound a ListGrants page.
const defaultListLimit, maxListLimit = 50, 100

// listGrants lists a key's grants in creation order. The marker is the
// sequence number of the last grant of the previous page, so a grant
// revoked between pages never shifts the next one.
func (e *Emulator) listGrants(in listGrantsInput) (listGrantsOutput, error) {
	limit := defaultListLimit
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxListLimit {
			return listGrantsOutput{}, errConstraint("limit", "must have value between 1 and 100")
		}
		limit = *in.Limit
	}
	after := int64(0)
	if in.Marker != "" {
		n, err := strconv.ParseInt(in.Marker, 10, 64)
		if err != nil || n < 0 {
			return listGrantsOutput{}, newAPIError(typeInvalidMarker, "The marker is not valid.")
		}
		after = n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := e.keyFor(in.KeyId)
	if err != nil {
		return listGrantsOutput{}, err
	}
	out := listGrantsOutput{Grants: []grantEntry{}}
	for _, g := range k.Grants {
		if g.Seq <= after || in.GrantId != "" && g.ID != in.GrantId || in.GranteePrincipal != "" && g.GranteePrincipal != in.GranteePrincipal {
			continue
		}
		if len(out.Grants) == limit {
			out.Truncated, out.NextMarker = true, strconv.FormatInt(after, 10)
			break
		}
		out.Grants = append(out.Grants, grantEntry{KeyId: k.ARN, GrantId: g.ID, Name: g.Name, CreationDate: epoch(g.Created),
			GranteePrincipal: g.GranteePrincipal, RetiringPrincipal: g.RetiringPrincipal,
			IssuingAccount: "arn:aws:iam::" + e.opts.AccountID + ":root", Operations: g.Operations, Constraints: g.Constraints})
		after = g.Seq
	}
	return out, nil
}

type revokeGrantInput struct{ KeyId, GrantId string }

type empty struct{}

func (e *Emulator) revokeGrant(in revokeGrantInput) (empty, error) {
	if in.GrantId == "" {
		return empty{}, errConstraint("grantId", "must not be null")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := e.keyFor(in.KeyId)
	if err != nil {
		return empty{}, err
	}
	if !k.remove(func(g *grant) bool { return g.ID == in.GrantId }) {
		return empty{}, newAPIError(typeNotFound, "Grant ID %s not found", in.GrantId)
	}
	return empty{}, nil
}

type retireGrantInput struct{ GrantToken, KeyId, GrantId string }

// retireGrant retires a grant named by its token, or by key and grant id.
func (e *Emulator) retireGrant(in retireGrantInput) (empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case in.GrantToken != "":
		for _, k := range e.keys {
			if k.remove(func(g *grant) bool { return slices.Contains(g.Tokens, in.GrantToken) }) {
				return empty{}, nil
			}
		}
		return empty{}, newAPIError(typeNotFound, "No grant has this token.")
	case in.KeyId == "" || in.GrantId == "":
		return empty{}, newAPIError(typeInvalidGrantID, "Name the grant by GrantToken, or by KeyId and GrantId.")
	}
	k, err := e.keyFor(in.KeyId)
	if err != nil {
		return empty{}, err
	}
	if !k.remove(func(g *grant) bool { return g.ID == in.GrantId }) {
		return empty{}, newAPIError(typeNotFound, "Grant ID %s not found", in.GrantId)
	}
	return empty{}, nil
}

// remove deletes the first grant matching and reports whether one did.
func (k *key) remove(match func(*grant) bool) bool {
	i := slices.IndexFunc(k.Grants, match)
	if i < 0 {
		return false
	}
	k.Grants = slices.Delete(k.Grants, i, i+1)
	return true
}

// epoch is a timestamp as AWS JSON 1.1 writes it: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
