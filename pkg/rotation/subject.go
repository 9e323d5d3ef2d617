package rotation

import (
	"context"
	"fmt"

	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/managedsecret"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// subject is what one secret's rotation works on. A connection's secret
// rotates the connection's own key, managed with that key; a managed
// application key's secret rotates a service account's key, managed with
// its connection's current key on the service-account routes; a managed API
// key's secret rotates an API key of the organisation, managed with its
// connection's current keys.
type subject struct {
	// conn is the connection's name.
	conn string
	// managed is set for a managed key (application or API key).
	managed *managedsecret.Name
}

// apiKey reports whether the subject is a managed API key.
func (s subject) apiKey() bool {
	return s.managed != nil && s.managed.Kind == managedsecret.APIKey
}

// subjectOf tells which kind of secret name is; ok is false for a secret
// ddconn does not rotate.
func subjectOf(prefix, name string) (subject, bool) {
	if conn, ok := ConnectionName(prefix, name); ok {
		return subject{conn: conn}, true
	}
	if n, ok := managedsecret.ParseName(prefix, name); ok {
		return subject{conn: n.Connection, managed: &n}, true
	}
	return subject{}, false
}

// keyName is the name of the key a rotation under token creates.
func (s subject) keyName(token string) string {
	if s.managed != nil {
		return s.managed.DatadogKeyName(token)
	}
	return KeyName(s.conn, token)
}

// KeyNames describes the Datadog keys the rotations of one secret create.
type KeyNames struct {
	// Prefix starts every such key's name.
	Prefix string
	// APIKeys is true for a managed API key's secret: the keys are API keys
	// of the organisation, not application keys.
	APIKeys bool
}

// KeyNamesOf describes the keys rotations of the secret named secretName
// create; ok is false for a secret ddconn does not rotate. The sweeper
// deletes unreferenced keys under the prefix.
func KeyNamesOf(prefix, secretName string) (KeyNames, bool) {
	s, ok := subjectOf(prefix, secretName)
	switch {
	case !ok:
		return KeyNames{}, false
	case s.managed != nil:
		return KeyNames{Prefix: s.managed.DatadogKeyNamePrefix(), APIKeys: s.apiKey()}, true
	}
	return KeyNames{Prefix: KeyNamePrefix(s.conn)}, true
}

// parse reads a SecretString of the subject's kind as a connection.Document,
// the view every step works on: a managed key's owner is its service
// account, and its API key is "" unless the document carries a copy.
//
// A managed API key reads as a document whose ApplicationKeyID is the API
// key's id, and whose ApplicationKey is empty: the retirement and snapshot
// rules then apply to API key ids unchanged.
func (s subject) parse(value string) (connection.Document, error) {
	if s.managed == nil {
		return connection.ParseDocument(value)
	}
	if s.apiKey() {
		d, err := managedsecret.ParseAPIKeyDocument(value)
		if err != nil {
			return connection.Document{}, err
		}
		return connection.Document{URL: d.URL, APIKey: d.APIKey, ApplicationKeyID: d.APIKeyID}, nil
	}
	d, err := managedsecret.ParseAppKeyDocument(value)
	if err != nil {
		return connection.Document{}, err
	}
	return connection.Document{
		URL: d.URL, APIKey: d.APIKey, ApplicationKey: d.ApplicationKey, ApplicationKeyID: d.ApplicationKeyID,
		OwnerID: d.ServiceAccountID, OwnerIsServiceAccount: true, Scopes: d.Scopes,
	}, nil
}

// marshal is parse's inverse.
func (s subject) marshal(d connection.Document) (string, error) {
	if s.managed == nil {
		return d.Marshal()
	}
	if s.apiKey() {
		return managedsecret.APIKeyDocument{URL: d.URL, APIKey: d.APIKey, APIKeyID: d.ApplicationKeyID}.Marshal()
	}
	return managedsecret.AppKeyDocument{
		URL: d.URL, ApplicationKey: d.ApplicationKey, ApplicationKeyID: d.ApplicationKeyID,
		ServiceAccountID: d.OwnerID, Scopes: d.Scopes, APIKey: d.APIKey,
	}.Marshal()
}

// manager holds what manages a subject's keys: the credentials every call
// authenticates with, the routes (whose keys), and whether the keys are API
// keys.
type manager struct {
	cr     datadog.Credentials
	owner  datadog.KeyOwner
	apiKey bool
}

// revoke deletes one of the subject's keys; a key already gone is revoked.
func (m manager) revoke(ctx context.Context, dd Datadog, id string) error {
	if m.apiKey {
		return dd.DeleteAPIKey(ctx, m.cr, id)
	}
	return dd.DeleteAppKey(ctx, m.cr, m.owner, id)
}

// manager returns the subject's manager given its current document: the
// document's own keys for a connection; for a managed key, the connection's
// current keys (read now, so a rotation of the connection is followed) on
// the routes of the key's service account.
func (r *Rotator) manager(ctx context.Context, s subject, cur connection.Document) (manager, error) {
	if s.managed == nil {
		cr, err := credentials(cur)
		return manager{cr: cr}, err
	}
	v, err := r.secrets.Get(ctx, r.prefix+s.conn, "", secretstore.Current)
	if err != nil {
		return manager{}, fmt.Errorf("reading connection %s: %w", s.conn, err)
	}
	conn, err := connection.ParseDocument(v.Value)
	if err != nil {
		return manager{}, fmt.Errorf("%w: connection %s: %w", ErrNotConnection, s.conn, err)
	}
	cr, err := credentials(conn)
	if err != nil {
		return manager{}, err
	}
	if s.apiKey() {
		return manager{cr: cr, apiKey: true}, nil
	}
	return manager{cr: cr, owner: datadog.KeyOwner{ServiceAccountID: cur.OwnerID}}, nil
}

// Manager returns the credentials that manage the keys of a rotated secret
// and the routes they use: the sweeper lists and deletes keys with them.
func (r *Rotator) Manager(ctx context.Context, secretID string) (datadog.Credentials, datadog.KeyOwner, error) {
	sec, err := r.secrets.Describe(ctx, secretID)
	if err != nil {
		return datadog.Credentials{}, datadog.KeyOwner{}, err
	}
	s, ok := subjectOf(r.prefix, sec.Name)
	if !ok {
		return datadog.Credentials{}, datadog.KeyOwner{}, fmt.Errorf("%w: %s", ErrForeignSecret, sec.Name)
	}
	cur, err := r.document(ctx, s, sec.ARN, "", secretstore.Current)
	if err != nil {
		return datadog.Credentials{}, datadog.KeyOwner{}, fmt.Errorf("reading the current document: %w", err)
	}
	m, err := r.manager(ctx, s, cur)
	return m.cr, m.owner, err
}
