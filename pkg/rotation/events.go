package rotation

import (
	"context"
	"log/slog"
	"time"

	"github.com/ddconn/ddconn/pkg/secretkind"
)

// Detail types of the events the rotate function publishes for consumers
// of the keys (source "ddconn"). None carries key material: key ids only.
const (
	// RotatedEvent follows every successful rotation: consumers that cached
	// the key should read the secret again.
	RotatedEvent = "Key Rotated"
	// RevokedEvent follows the revocation of a retired key in Datadog.
	RevokedEvent = "Key Revoked"
	// StillInUseEvent precedes the revocation of a retired key that the
	// when-unused policy's maxGrace forces while Datadog still reports the
	// key in use: some consumer never read the new key.
	StillInUseEvent = "Previous Key Still In Use"
)

// Kind names of Subject.Kind, as the provisioning requests name managed
// keys.
const (
	KindConnection     = "connection"
	KindApplicationKey = "application-key"
	KindAPIKey         = "api-key"
)

// KindName is the name events give kind k.
func KindName(k secretkind.Kind) string {
	switch k {
	case secretkind.AppKey:
		return KindApplicationKey
	case secretkind.APIKey:
		return KindAPIKey
	}
	return KindConnection
}

// Subject says which secret an event is about: its ARN (the event's
// resource too), its name, its connection, its kind and, for a managed
// key, the key's name. An EventBridge rule matches a consumer's secret on
// detail.secretArn or detail.secretName.
type Subject struct {
	SecretARN  string `json:"secretArn"`
	SecretName string `json:"secretName"`
	Connection string `json:"connection"`
	// Kind is KindConnection, KindApplicationKey or KindAPIKey.
	Kind string `json:"kind"`
	// Name is the managed key's name; absent for a connection.
	Name string `json:"name,omitempty"`
}

func (r *Rotator) subject(n secretkind.Name, secretARN string) Subject {
	return Subject{SecretARN: secretARN, SecretName: n.SecretName(r.prefix), Connection: n.Connection, Kind: KindName(n.Kind), Name: n.Key}
}

// Rotated is the detail of a RotatedEvent.
type Rotated struct {
	Subject
	// RequestID is the rotation's ClientRequestToken, which is also
	// VersionID: consumers deduplicate on it (a retried finishSecret may
	// publish the event again).
	RequestID string `json:"requestId"`
	// VersionID is the secret version now staged AWSCURRENT.
	VersionID string `json:"versionId"`
	// KeyID is the id of the key now current; PreviousKeyID the one it
	// replaced ("" when that key's id was never identified).
	KeyID         string `json:"keyId"`
	PreviousKeyID string `json:"previousKeyId"`
	// RevokePrevious is the revocation policy the previous key is under.
	RevokePrevious string `json:"revokePrevious"`
	// PreviousKeyRevokeAt is when the previous key will be revoked at the
	// latest; null means when the next rotation replaces the new key.
	PreviousKeyRevokeAt *time.Time `json:"previousKeyRevokeAt"`
	// RotatedAt is when the new key was promoted.
	RotatedAt time.Time `json:"rotatedAt"`
}

// Revoked is the detail of a RevokedEvent.
type Revoked struct {
	Subject
	// KeyID is the revoked key's id.
	KeyID string `json:"keyId"`
	// Reason is the revocation policy that revoked it.
	Reason string `json:"reason"`
	// LastUsedAt is when Datadog last saw the key used, when it was read
	// (the when-unused policy reads it); absent otherwise.
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  time.Time  `json:"revokedAt"`
}

// StillInUse is the detail of a StillInUseEvent.
type StillInUse struct {
	Subject
	KeyID string `json:"keyId"`
	// LastUsedAt is when Datadog last saw the key used.
	LastUsedAt *time.Time `json:"lastUsedAt"`
	// MaxGraceEndedAt is the retirement's deadline; RevokingAt is now.
	MaxGraceEndedAt time.Time `json:"maxGraceEndedAt"`
	RevokingAt      time.Time `json:"revokingAt"`
}

// publish puts one event about the secret on the bus. It is best effort:
// what it reports has happened already, and a failure is logged.
func (r *Rotator) publish(ctx context.Context, detailType string, secretARN string, detail any) {
	if r.pub == nil {
		return
	}
	if _, err := r.pub.Publish(ctx, detailType, detail, secretARN); err != nil {
		r.log.WarnContext(ctx, "publishing an event failed", slog.String("detail_type", detailType),
			slog.String("secret_arn", secretARN), slog.Any("error", err))
	}
}
