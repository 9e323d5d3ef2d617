package cli

import (
	"cmp"
	"time"
)

// The parts of the API's answers the tables show (docs/api.md,
// docs/openapi.yaml). -o json prints the answers as they came, so these
// name only what a table needs.

type connection struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Team        string `json:"team"`
	Site        string `json:"site"`
	Credentials struct {
		URL string `json:"url"`
	} `json:"credentials"`
	SecretARN        string `json:"secretArn"`
	ApplicationKeyID string `json:"applicationKeyId"`
	Capabilities     struct {
		RotateOwnKey             bool     `json:"rotateOwnKey"`
		ManageServiceAccountKeys bool     `json:"manageServiceAccountKeys"`
		MissingPermissions       []string `json:"missingPermissions"`
	} `json:"capabilities"`
	Rotation               rotationBlock `json:"rotation"`
	AllowedServiceAccounts []string      `json:"allowedServiceAccounts"`
	Valid                  *bool         `json:"valid"`
	LastValidatedAt        *time.Time    `json:"lastValidatedAt"`
	Warnings               []string      `json:"warnings"`
}

// rotationBlock is the rotation block of a connection or a managed key
// (docs/rotation.md#the-rotation-block).
type rotationBlock struct {
	Enabled            bool       `json:"enabled"`
	Schedule           string     `json:"schedule"`
	Window             string     `json:"window"`
	RevokePrevious     string     `json:"revokePrevious"`
	LastRotatedAt      *time.Time `json:"lastRotatedAt"`
	NextRotationAt     *time.Time `json:"nextRotationAt"`
	InProgress         bool       `json:"inProgress"`
	Step               string     `json:"step"`
	LastError          string     `json:"lastError"`
	LastWarning        string     `json:"lastWarning"`
	CurrentKeyID       string     `json:"currentApplicationKeyId"`
	PreviousKeyID      string     `json:"previousApplicationKeyId"`
	PendingRevocations []struct {
		KeyID string     `json:"applicationKeyId"`
		DueAt *time.Time `json:"dueAt"`
	} `json:"pendingRevocations"`
	RevokeByHand string `json:"revokeByHand"`
}

type connectionList struct {
	Connections []connection `json:"connections"`
	NextCursor  string       `json:"nextCursor"`
}

type validation struct {
	Valid  bool `json:"valid"`
	Checks []struct {
		Name    string   `json:"name"`
		OK      bool     `json:"ok"`
		Message string   `json:"message"`
		Missing []string `json:"missing"`
	} `json:"checks"`
}

type serviceAccounts struct {
	ServiceAccounts []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Email    string `json:"email"`
		Disabled bool   `json:"disabled"`
	} `json:"serviceAccounts"`
}

type deletion struct {
	Name               string    `json:"name"`
	DeletionDate       time.Time `json:"deletionDate"`
	RecoveryWindowDays int       `json:"recoveryWindowDays"`
	RevokedKeyIDs      []string  `json:"revokedKeyIds"`
}

type rotateAnswer struct {
	VersionID string `json:"versionId"`
	Resumed   bool   `json:"resumed"`
}

// managedKey is a managed application key or a managed API key.
type managedKey struct {
	Connection       string        `json:"connection"`
	Name             string        `json:"name"`
	ServiceAccountID string        `json:"serviceAccountId"`
	Scopes           []string      `json:"scopes"`
	ApplicationKeyID string        `json:"applicationKeyId"`
	APIKeyID         string        `json:"apiKeyId"`
	IncludeAPIKey    bool          `json:"includeApiKey"`
	SecretARN        string        `json:"secretArn"`
	SecretName       string        `json:"secretName"`
	CreatedAt        *time.Time    `json:"createdAt"`
	Readers          []string      `json:"readers"`
	Rotation         rotationBlock `json:"rotation"`
}

// keyID is the Datadog id of the key, whichever kind it is.
func (k managedKey) keyID() string { return cmp.Or(k.ApplicationKeyID, k.APIKeyID) }

type managedKeyList struct {
	ApplicationKeys []managedKey `json:"applicationKeys"`
	APIKeys         []managedKey `json:"apiKeys"`
}
