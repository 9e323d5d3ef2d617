package testkit

import (
	"embed"
	"fmt"
)

// EventName names one of the event payloads in testdata/.
type EventName string

// The payloads AWS sends ddconn's functions, one copy each.
const (
	// RotationEvent is a Secrets Manager rotation step (createSecret) for
	// the connection secret ddconn/connections/prod.
	RotationEvent EventName = "rotation_event.json"
	// ScheduledEvent is EventBridge's "Scheduled Event", as the sweeper's
	// schedule delivers it.
	ScheduledEvent EventName = "scheduled_event.json"
	// S3Event is an EventBridge event from another source (aws.s3), which
	// no function handles.
	S3Event EventName = "s3_event.json"
	// HTTPAPIRequest is an IAM-authorised API Gateway HTTP API v2 request:
	// aws-lambda-go's events/testdata/apigw-v2-request-iam.json.
	HTTPAPIRequest EventName = "http_api_request_iam.json"
	// HTTPAPIRequestJWT is a JWT-authorised API Gateway HTTP API v2
	// request: aws-lambda-go's events/testdata/apigw-v2-request-jwt-authorizer.json.
	HTTPAPIRequestJWT EventName = "http_api_request_jwt.json"
	// ProvisioningEvent is a "Provision API Key" request as the
	// provisioning rule delivers it (source ddconn.requests).
	ProvisioningEvent EventName = "provisioning_event.json"
)

//go:embed testdata/*.json
var payloads embed.FS

// Event returns a fresh copy of the named payload. The payloads are
// embedded, so a name that is not one of the constants above is a bug in
// the caller: Event panics on it.
func Event(name EventName) []byte {
	b, err := payloads.ReadFile("testdata/" + string(name))
	if err != nil {
		panic(fmt.Sprintf("testkit: no event payload %q: %v", name, err))
	}
	return b
}
