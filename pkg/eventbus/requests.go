package eventbus

// RequestSource is the source of the provisioning requests ddconn acts on
// (the create function; docs/provisioning.md).
const RequestSource = "ddconn.requests"

// Detail types of provisioning requests.
const (
	CreateConnection        = "Create Connection"
	ProvisionApplicationKey = "Provision Application Key"
	ProvisionAPIKey         = "Provision API Key"
	DeleteManagedKey        = "Delete Managed Key"
)

// RequestTypes are the detail types of provisioning requests: the
// EventBridge rule in template.yaml matches exactly these.
var RequestTypes = []string{CreateConnection, ProvisionApplicationKey, ProvisionAPIKey, DeleteManagedKey}
