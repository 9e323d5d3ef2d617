package provisioning

import (
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/rotation"
)

// RequestSource is the source of the events ddconn acts on.
const RequestSource = eventbus.RequestSource

// OutcomeSource is the source of the events ddconn publishes.
const OutcomeSource = "ddconn"

// Detail types of requests.
const (
	CreateConnection        = eventbus.CreateConnection
	ProvisionApplicationKey = eventbus.ProvisionApplicationKey
	ProvisionAPIKey         = eventbus.ProvisionAPIKey
	DeleteManagedKey        = eventbus.DeleteManagedKey
)

// RequestTypes are the detail types the create function acts on: the
// EventBridge rule in template.yaml matches exactly these.
var RequestTypes = eventbus.RequestTypes

// Detail types of outcomes.
const (
	ConnectionCreated         = "Connection Created"
	ApplicationKeyProvisioned = "Application Key Provisioned"
	APIKeyProvisioned         = "API Key Provisioned"
	ManagedKeyDeleted         = "Managed Key Deleted"
	ProvisioningFailed        = "Provisioning Failed"
	RotationFailed            = rotation.FailedEvent
	KeyRotated                = rotation.RotatedEvent
	KeyRevoked                = rotation.RevokedEvent
	RotationRolledBack        = rotation.RolledBackEvent
)

// StagingPrefix follows the connection secret prefix in the name of the
// staging secrets "Create Connection" reads its keys from: with the default
// prefix, ddconn/connections/staging/<anything>. The create function may
// read and delete these secrets only.
const StagingPrefix = "staging/"
