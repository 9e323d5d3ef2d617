package provisioning

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/pkg/access"
)

// TeamBusInputTemplate is the InputTemplate of a team bus's rule's target
// (an EventBridge InputTransformer with no InputPathsMap): it hands the
// function the rule's ARN, which names the bus, with the event. The
// envelope itself does not name the bus an event came through.
const TeamBusInputTemplate = `{"ruleArn": <aws.events.rule-arn>, "event": <aws.events.event.json>}`

// BusDelivery is what TeamBusInputTemplate produces.
type BusDelivery struct {
	// RuleARN is the ARN of the rule that delivered the event:
	// arn:<partition>:events:<region>:<account>:rule/<bus>/<rule>.
	RuleARN string `json:"ruleArn"`
	// Event is the event, as EventBridge put it on the bus.
	Event events.EventBridgeEvent `json:"event"`
}

// Home is where ddconn runs. Only the rules of its partition, region and
// account deliver for a team bus: they are the team buses' rules the stack
// deploys.
type Home struct {
	Partition, Region, Account string
}

// HomeOf returns the Home of the Lambda function whose ARN is functionARN
// (arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]).
func HomeOf(functionARN string) (Home, bool) {
	parts := strings.SplitN(functionARN, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" ||
		parts[1] == "" || parts[3] == "" || parts[4] == "" {
		return Home{}, false
	}
	return Home{Partition: parts[1], Region: parts[3], Account: parts[4]}, true
}

// teamBus returns the bus of ruleARN when it is a rule of h on a custom
// bus.
func (h Home) teamBus(ruleARN string) (string, bool) {
	parts := strings.SplitN(ruleARN, ":", 6)
	if h.Account == "" || len(parts) != 6 || parts[0] != "arn" || parts[1] != h.Partition || parts[2] != "events" ||
		parts[3] != h.Region || parts[4] != h.Account {
		return "", false
	}
	rest, ok := strings.CutPrefix(parts[5], "rule/")
	bus, rule, found := strings.Cut(rest, "/")
	if !ok || !found || bus == "" || rule == "" {
		// A rule on the default bus (rule/<name>) names no team bus.
		return "", false
	}
	return bus, true
}

// HandleBusDelivery carries out an event a team bus's rule delivered, as
// Handle does, attributed to the team whose policy entry lists the bus
// (not by its account). A delivery by a rule outside home, or not on a
// custom bus, is refused (forbidden) and changes nothing.
func (p *Processor) HandleBusDelivery(ctx context.Context, home Home, d BusDelivery) error {
	bus, ok := home.teamBus(d.RuleARN)
	var refused error
	if !ok {
		refused = access.Forbidden("the event was delivered by a rule that is not one of ddconn's team buses' (its account and region)")
	}
	return p.handle(ctx, d.Event, bus, refused)
}
