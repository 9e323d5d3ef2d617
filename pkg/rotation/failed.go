package rotation

import (
	"context"
	"strings"

	"github.com/ddconn/ddconn/pkg/logging"
)

// FailedEvent is the detail type of the event published for a failed
// rotation step ("Rotation Failed", source "ddconn").
const FailedEvent = "Rotation Failed"

// publisher puts outcome events on the bus; *eventbus.Publisher
// implements it.
type publisher interface {
	Publish(ctx context.Context, detailType string, detail any, resources ...string) (string, error)
}

// Failed is the detail of a FailedEvent. Secrets Manager retries a failed
// rotation, so a later successful step supersedes it.
type Failed struct {
	// RequestID is the rotation's ClientRequestToken: every step of one
	// rotation, and every retry, shares it.
	RequestID string `json:"requestId"`
	SecretARN string `json:"secretArn"`
	Step      string `json:"step"`
	// Message is the step's error with anything shaped like a key scrubbed.
	Message string `json:"message"`
}

// maxFailedMessage bounds Failed.Message.
const maxFailedMessage = 1024

// publishFailure publishes a FailedEvent. It is best effort: the step has
// failed, and Secrets Manager retries it whatever happens here.
func (r *Rotator) publishFailure(ctx context.Context, ev Event, stepErr error) {
	msg := logging.Scrub(stepErr.Error())
	if len(msg) > maxFailedMessage {
		msg = strings.ToValidUTF8(msg[:maxFailedMessage], "") + "…"
	}
	r.publish(ctx, FailedEvent, ev.SecretID, Failed{RequestID: ev.ClientRequestToken, SecretARN: ev.SecretID, Step: ev.Step, Message: msg})
}
