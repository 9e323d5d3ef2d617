package provisioning

import (
	"context"
	"errors"

	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
)

// ConnectionCreatedDetail is the detail of a "Connection Created" outcome.
type ConnectionCreatedDetail struct {
	RequestID  string                `json:"requestId"`
	Connection connection.Connection `json:"connection"`
	// SourceSecretDeleted is true when the request asked for the staging
	// secret's deletion and it is gone.
	SourceSecretDeleted bool `json:"sourceSecretDeleted"`
}

// ApplicationKeyProvisionedDetail is the detail of an "Application Key
// Provisioned" outcome.
type ApplicationKeyProvisionedDetail struct {
	RequestID string            `json:"requestId"`
	Key       managedkey.AppKey `json:"key"`
}

// APIKeyProvisionedDetail is the detail of an "API Key Provisioned" outcome.
type APIKeyProvisionedDetail struct {
	RequestID string            `json:"requestId"`
	Key       managedkey.APIKey `json:"key"`
}

// ManagedKeyDeletedDetail is the detail of a "Managed Key Deleted" outcome.
type ManagedKeyDeletedDetail struct {
	RequestID  string `json:"requestId"`
	Connection string `json:"connection"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Existed is false when there was nothing to delete: a repeated
	// request, or a key that never existed. Either way it is gone.
	Existed  bool `json:"existed"`
	KeepKeys bool `json:"keepKeys"`
}

// createConnection carries out "Create Connection". A repeated request
// finds the connection it created before reading the staging secret, which
// the first delivery may have deleted.
func (p *Processor) createConnection(ctx context.Context, id string, d *CreateConnectionDetail) (outcome, error) {
	if err := p.checkStagingARN(d.CredentialsSecretARN, d.Team); err != nil {
		return outcome{}, err
	}
	if err := access.CheckMember(ctx, d.Team); err != nil {
		return outcome{}, err
	}
	c, err := p.createOnce(ctx, id, d)
	if err != nil {
		return outcome{}, err
	}
	detail := ConnectionCreatedDetail{RequestID: id, Connection: c}
	if d.DeleteSourceSecret {
		detail.SourceSecretDeleted = p.dropStaging(ctx, d.CredentialsSecretARN)
	}
	return outcome{detailType: ConnectionCreated, detail: detail, resources: []string{c.SecretARN}}, nil
}

// createOnce creates the connection unless a delivery of the same request
// did. It looks twice: before reading the staging secret, and again when
// the secret is gone, which a concurrent delivery that finished first
// (deleteSourceSecret) explains.
func (p *Processor) createOnce(ctx context.Context, id string, d *CreateConnectionDetail) (connection.Connection, error) {
	if c, done, err := p.conns.CreatedBy(ctx, d.Name, id); err != nil || done {
		return c, err
	}
	creds, err := p.stagedCredentials(ctx, d)
	var f *failure
	if errors.As(err, &f) && f.reason == ReasonSourceSecretNotFound {
		if c, done, cerr := p.conns.CreatedBy(ctx, d.Name, id); cerr == nil && done {
			return c, nil
		}
	}
	if err != nil {
		return connection.Connection{}, err
	}
	return p.conns.Create(ctx, connection.CreateInput{
		Name: d.Name, Description: d.Description, Team: d.Team, Credentials: &creds, RequestID: id,
	})
}

func (p *Processor) provisionAppKey(ctx context.Context, id string, d *ProvisionApplicationKeyDetail) (outcome, error) {
	in := d.MintInput
	in.RequestID = id
	k, err := p.keys.Mint(ctx, d.Connection, in)
	if err != nil {
		return outcome{}, err
	}
	return outcome{detailType: ApplicationKeyProvisioned, detail: ApplicationKeyProvisionedDetail{RequestID: id, Key: k},
		resources: []string{k.SecretARN}}, nil
}

func (p *Processor) provisionAPIKey(ctx context.Context, id string, d *ProvisionAPIKeyDetail) (outcome, error) {
	in := d.APIKeyInput
	in.RequestID = id
	k, err := p.keys.MintAPIKey(ctx, d.Connection, in)
	if err != nil {
		return outcome{}, err
	}
	return outcome{detailType: APIKeyProvisioned, detail: APIKeyProvisionedDetail{RequestID: id, Key: k},
		resources: []string{k.SecretARN}}, nil
}

// deleteKey carries out "Delete Managed Key": a key that is not there is
// deleted already (a repeated request finds nothing), which is success.
func (p *Processor) deleteKey(ctx context.Context, id string, d *DeleteManagedKeyDetail) (outcome, error) {
	var err error
	switch d.Kind {
	case KindApplicationKey:
		err = p.keys.Delete(ctx, d.Connection, d.Name, d.KeepKeys)
	case KindAPIKey:
		err = p.keys.DeleteAPIKey(ctx, d.Connection, d.Name, d.KeepKeys)
	default:
		return outcome{}, invalidRequest("kind", `must be "`+KindApplicationKey+`" or "`+KindAPIKey+`"`)
	}
	existed := !errors.Is(err, managedkey.ErrNotFound)
	if err != nil && existed {
		return outcome{}, err
	}
	return outcome{detailType: ManagedKeyDeleted, detail: ManagedKeyDeletedDetail{
		RequestID: id, Connection: d.Connection, Kind: d.Kind, Name: d.Name, Existed: existed, KeepKeys: d.KeepKeys,
	}}, nil
}
