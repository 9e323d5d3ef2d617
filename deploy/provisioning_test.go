package deploy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/provisioning"
)

// maxRetentionSeconds is SQS's longest message retention, 14 days: a failed
// request waits that long for someone to look at it.
const maxRetentionSeconds = 14 * 24 * 60 * 60

// rulesTargeting lists the AWS::Events::Rule resources with a target that
// is the function id, sorted.
func rulesTargeting(tpl *Template, id string) []string {
	var rules []string
	for _, rule := range tpl.OfType("AWS::Events::Rule") {
		if targetOf(tpl, rule, id) != nil {
			rules = append(rules, rule)
		}
	}
	return rules
}

// targetOf returns the rule's target that is the function id, or nil.
func targetOf(tpl *Template, rule, id string) map[string]any {
	for _, raw := range asList(tpl.Resources[rule].Properties["Targets"]) {
		if target := asMap(raw); refTarget(target["Arn"]) == id {
			return target
		}
	}
	return nil
}

func TestProvisioningRuleMatchesTheRequestTypes(t *testing.T) {
	tpl := loadTemplate(t)
	rules := rulesTargeting(tpl, "CreateFunction")
	if len(rules) != 1 {
		t.Fatalf("rules targeting CreateFunction: %v, want exactly one (the provisioning requests)", rules)
	}
	rule := rules[0]
	p := tpl.Resources[rule].Properties
	if !reflect.DeepEqual(p["EventBusName"], ref("EventBusName")) {
		t.Errorf("%s EventBusName = %#v, want !Ref EventBusName", rule, p["EventBusName"])
	}
	if p["State"] != "ENABLED" {
		t.Errorf("%s State = %#v, want ENABLED", rule, p["State"])
	}

	pattern := asMap(p["EventPattern"])
	if pattern == nil {
		t.Fatalf("%s EventPattern = %#v, want a mapping", rule, p["EventPattern"])
	}
	if got := pattern["source"]; !reflect.DeepEqual(got, []any{provisioning.RequestSource}) {
		t.Errorf("pattern source = %#v, want [%q] (provisioning.RequestSource)", got, provisioning.RequestSource)
	}
	detailTypes := asList(pattern["detail-type"])
	got := asStrings(detailTypes)
	slices.Sort(got)
	want := slices.Sorted(slices.Values(provisioning.RequestTypes))
	// Every entry a literal string (no prefix or anything-but matching),
	// each once, and exactly the request types the function handles.
	if len(got) != len(detailTypes) || !slices.Equal(got, want) {
		t.Errorf("pattern detail-type = %#v, want exactly %q (provisioning.RequestTypes)", pattern["detail-type"], want)
	}
	// Requests from this account only, unless team accounts are accepted
	// under an access policy, which confines each to its teams (and their
	// staging paths).
	own := []any{ref("AWS::AccountId")}
	switch got := pattern["account"]; {
	case reflect.DeepEqual(got, own):
	default:
		branches := asList(asMap(got)["Fn::If"])
		if len(branches) != 3 || branches[0] != "AcceptTeamAccounts" || !reflect.DeepEqual(branches[2], own) {
			t.Errorf("pattern account = %#v, want [!Ref AWS::AccountId], or that unless AcceptTeamAccounts", got)
		}
		if cond := fmt.Sprint(tpl.Conditions["AcceptTeamAccounts"]); !strings.Contains(cond, "HasAccessPolicy") {
			t.Errorf("AcceptTeamAccounts = %s: other accounts' requests must need an access policy", cond)
		}
	}
	for key := range pattern {
		if key != "source" && key != "detail-type" && key != "account" {
			t.Errorf("pattern also filters on %q: requests the function handles would be dropped unseen", key)
		}
	}

	target := targetOf(tpl, rule, "CreateFunction")
	if !reflect.DeepEqual(target["Arn"], getAtt("CreateFunction", "Arn")) {
		t.Errorf("target Arn = %#v, want !GetAtt CreateFunction.Arn (the unpublished function)", target["Arn"])
	}
	retry := asMap(target["RetryPolicy"])
	if n, ok := retry["MaximumRetryAttempts"].(int); !ok || n < 0 || n > 185 {
		t.Errorf("target RetryPolicy.MaximumRetryAttempts = %#v, want 0–185", retry["MaximumRetryAttempts"])
	}
	if age, ok := retry["MaximumEventAgeInSeconds"].(int); !ok || age < 60 || age > 86400 {
		t.Errorf("target RetryPolicy.MaximumEventAgeInSeconds = %#v, want 60–86400", retry["MaximumEventAgeInSeconds"])
	}
	dlq := asMap(target["DeadLetterConfig"])["Arn"]
	if q := refTarget(dlq); tpl.Resources[q].Type != "AWS::SQS::Queue" || !reflect.DeepEqual(dlq, getAtt(q, "Arn")) {
		t.Errorf("target DeadLetterConfig.Arn = %#v, want !GetAtt <an SQS queue of the template>.Arn", dlq)
	}

	// EventBridge may invoke the function for this rule only.
	var perms []string
	for _, id := range tpl.OfType("AWS::Lambda::Permission") {
		pp := tpl.Resources[id].Properties
		if refTarget(pp["FunctionName"]) != "CreateFunction" {
			continue
		}
		perms = append(perms, id)
		if pp["Principal"] != "events.amazonaws.com" || pp["Action"] != "lambda:InvokeFunction" ||
			!reflect.DeepEqual(pp["SourceArn"], getAtt(rule, "Arn")) {
			t.Errorf("%s = %#v, want lambda:InvokeFunction for events.amazonaws.com with SourceArn !GetAtt %s.Arn", id, pp, rule)
		}
	}
	if len(perms) != 1 {
		t.Errorf("CreateFunction has explicit Lambda permissions %v, want exactly 1 (the rule)", perms)
	}
}

func TestCreateFunctionDeadLettersFailedRequests(t *testing.T) {
	tpl := loadTemplate(t)
	p := tpl.FunctionProperties("CreateFunction")
	cfg := asMap(p["EventInvokeConfig"])
	if cfg["MaximumRetryAttempts"] != 2 {
		t.Errorf("EventInvokeConfig.MaximumRetryAttempts = %#v, want 2", cfg["MaximumRetryAttempts"])
	}
	// At least the two retries (Lambda waits 1 then 2 minutes), at most
	// Lambda's own limit of 6 hours.
	if age, ok := cfg["MaximumEventAgeInSeconds"].(int); !ok || age < 300 || age > 21600 {
		t.Errorf("EventInvokeConfig.MaximumEventAgeInSeconds = %#v, want 300–21600", cfg["MaximumEventAgeInSeconds"])
	}
	// The dead-letter queue gets the event itself; an OnFailure record may
	// drop the request payload when it is large.
	dlq := asMap(p["DeadLetterQueue"])
	if q := refTarget(dlq["TargetArn"]); dlq["Type"] != "SQS" || tpl.Resources[q].Type != "AWS::SQS::Queue" {
		t.Errorf("DeadLetterQueue = %#v, want Type SQS and a queue of the template", p["DeadLetterQueue"])
	}
}

// deadLetterQueues maps each queue the template sends failures to, to who
// sends: a function's DeadLetterQueue or OnFailure destination, or a rule
// target's DeadLetterConfig. An ARN from outside the template maps from "".
func deadLetterQueues(tpl *Template) map[string][]string {
	out := map[string][]string{}
	for _, id := range tpl.Functions() {
		p := tpl.FunctionProperties(id)
		if dlq := asMap(p["DeadLetterQueue"]); dlq != nil {
			out[refTarget(dlq["TargetArn"])] = append(out[refTarget(dlq["TargetArn"])], id)
		}
		onFailure := asMap(asMap(asMap(p["EventInvokeConfig"])["DestinationConfig"])["OnFailure"])
		if onFailure != nil {
			out[refTarget(onFailure["Destination"])] = append(out[refTarget(onFailure["Destination"])], id+" OnFailure")
		}
	}
	for _, rule := range tpl.OfType("AWS::Events::Rule") {
		for _, raw := range asList(tpl.Resources[rule].Properties["Targets"]) {
			if dlq := asMap(asMap(raw)["DeadLetterConfig"]); dlq != nil {
				out[refTarget(dlq["Arn"])] = append(out[refTarget(dlq["Arn"])], rule)
			}
		}
	}
	return out
}

func TestEveryDeadLetterQueueIsAlarmedEncryptedAndKept(t *testing.T) {
	tpl := loadTemplate(t)
	queues := tpl.OfType("AWS::SQS::Queue")
	senders := deadLetterQueues(tpl)
	for q, from := range senders {
		if !slices.Contains(queues, q) {
			t.Errorf("%v send failures to %q, which is not an SQS queue of the template (so nothing alarms on it)", from, q)
		}
	}
	for _, q := range queues {
		t.Run(q, func(t *testing.T) {
			if senders[q] == nil {
				t.Errorf("nothing sends failures to %s: every queue here is a dead-letter queue", q)
			}
			p := tpl.Resources[q].Properties
			if p["MessageRetentionPeriod"] != maxRetentionSeconds {
				t.Errorf("MessageRetentionPeriod = %#v, want %d (14 days)", p["MessageRetentionPeriod"], maxRetentionSeconds)
			}
			if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
				t.Error("queue is not encrypted (SqsManagedSseEnabled or KmsMasterKeyId)")
			}
			if alarms := messagesVisibleAlarms(tpl, q); len(alarms) == 0 {
				t.Errorf("no alarm fires when %s holds a message (AWS/SQS ApproximateNumberOfMessagesVisible > 0)", q)
			}
			if !slices.ContainsFunc(outputValues(tpl), func(v any) bool { return reflect.DeepEqual(v, ref(q)) }) {
				t.Errorf("no output gives %s's URL (!Ref %s)", q, q)
			}
		})
	}
}

// messagesVisibleAlarms lists the alarms, created unconditionally, that fire
// as soon as queue q holds a visible message.
func messagesVisibleAlarms(tpl *Template, q string) []string {
	var out []string
	for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
		p := tpl.Resources[id].Properties
		if tpl.Resources[id].Condition != "" || p["Namespace"] != "AWS/SQS" || p["MetricName"] != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		if !slices.ContainsFunc(asList(p["Dimensions"]), func(d any) bool {
			return reflect.DeepEqual(d, map[string]any{"Name": "QueueName", "Value": getAtt(q, "QueueName")})
		}) {
			continue
		}
		switch {
		case p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" && p["Threshold"] == 1,
			p["ComparisonOperator"] == "GreaterThanThreshold" && p["Threshold"] == 0:
			out = append(out, id)
		}
	}
	return out
}

// outputValues lists the Value of every output.
func outputValues(tpl *Template) []any {
	var out []any
	for _, o := range tpl.Outputs {
		out = append(out, asMap(o)["Value"])
	}
	return out
}

// TestQueuePoliciesAdmitOnlyTheRuleThatSends checks who may send to the
// queues: EventBridge, on behalf of the one rule whose dead-letter queue it
// is. A function's role sends through IAM and needs no queue policy.
func TestQueuePoliciesAdmitOnlyTheRuleThatSends(t *testing.T) {
	tpl := loadTemplate(t)
	admitted := map[string][]string{} // queue → rules a queue policy admits
	for _, id := range tpl.OfType("AWS::SQS::QueuePolicy") {
		p := tpl.Resources[id].Properties
		var queues []string
		for _, q := range asList(p["Queues"]) {
			queues = append(queues, refTarget(q))
		}
		for _, st := range asList(asMap(p["PolicyDocument"])["Statement"]) {
			rule, problems := queueStatementProblems(tpl, asMap(st), queues)
			for _, problem := range problems {
				t.Errorf("%s: %s", id, problem)
			}
			for _, q := range queues {
				if rule != "" {
					admitted[q] = append(admitted[q], rule)
				}
			}
		}
	}
	for q, senders := range deadLetterQueues(tpl) {
		var rules []string
		for _, s := range senders {
			if tpl.Resources[s].Type == "AWS::Events::Rule" {
				rules = append(rules, s)
			}
		}
		slices.Sort(rules)
		got := slices.Sorted(slices.Values(admitted[q]))
		if !slices.Equal(got, rules) {
			t.Errorf("queue policies let %v send to %s, want exactly the rules that dead-letter to it: %v", got, q, rules)
		}
	}
}

// queueStatementProblems checks one queue policy statement: it must let
// EventBridge send, to the policy's own queues, for one rule of the
// template. It returns that rule.
func queueStatementProblems(tpl *Template, st map[string]any, queues []string) (string, []string) {
	if st["Effect"] != "Allow" {
		return "", nil
	}
	var problems []string
	if !reflect.DeepEqual(st["Principal"], map[string]any{"Service": "events.amazonaws.com"}) {
		problems = append(problems, "principal is not events.amazonaws.com alone")
	}
	if !reflect.DeepEqual(asStrings(st["Action"]), []string{"sqs:SendMessage"}) {
		problems = append(problems, "actions are not sqs:SendMessage alone")
	}
	resources := asList(st["Resource"])
	if len(resources) == 0 {
		problems = append(problems, "no Resource")
	}
	for _, r := range resources {
		if q := refTarget(r); !slices.Contains(queues, q) || !reflect.DeepEqual(r, getAtt(q, "Arn")) {
			problems = append(problems, "resource is not one of the policy's queues (!GetAtt <queue>.Arn)")
		}
	}
	cond := st["Condition"]
	source := asMap(asMap(cond)["ArnEquals"])["aws:SourceArn"]
	rule := refTarget(source)
	if tpl.Resources[rule].Type != "AWS::Events::Rule" || !reflect.DeepEqual(cond, map[string]any{
		"ArnEquals": map[string]any{"aws:SourceArn": getAtt(rule, "Arn")},
	}) {
		problems = append(problems, "condition is not ArnEquals aws:SourceArn !GetAtt <a rule of the template>.Arn alone")
		rule = ""
	}
	return rule, problems
}

func TestEventBusParameter(t *testing.T) {
	tpl := loadTemplate(t)
	p := asMap(tpl.Parameters["EventBusName"])
	if p["Default"] != "default" {
		t.Errorf("EventBusName defaults to %#v, want the account's default bus", p["Default"])
	}
	// The PutEvents grant is event-bus/${EventBusName}: an ARN here would
	// make it name no bus.
	if pattern, _ := p["AllowedPattern"].(string); pattern == "" {
		t.Error("EventBusName has no AllowedPattern: a bus ARN would make the PutEvents grant name no bus")
	}
	if !slices.ContainsFunc(outputValues(tpl), func(v any) bool { return reflect.DeepEqual(v, ref("EventBusName")) }) {
		t.Error("no output gives the bus name (!Ref EventBusName)")
	}
}

// TestTeamBusRules checks the rule per team bus (Fn::ForEach over
// TeamBuses): each hands exactly the provisioning requests of its bus to
// the create function through the InputTransformer the function reads
// (provisioning.TeamBusInputTemplate), with no account filter (the bus's
// resource policy decides who puts events), only under an access policy,
// and EventBridge may invoke the function for that rule only.
func TestTeamBusRules(t *testing.T) {
	tpl := loadTemplate(t)
	p := asMap(tpl.Parameters["TeamBuses"])
	if p["Type"] != "CommaDelimitedList" || p["Default"] != "" {
		t.Errorf("TeamBuses = %#v, want a CommaDelimitedList defaulting to none", p)
	}
	if cond := fmt.Sprint(tpl.Conditions["HasTeamBuses"]); !strings.Contains(cond, "HasAccessPolicy") || !strings.Contains(cond, "TeamBuses") {
		t.Errorf("HasTeamBuses = %s: team buses must need an access policy", cond)
	}
	loop, ok := tpl.Loops["TeamBuses"]
	if !ok || loop.Identifier != "Bus" || !reflect.DeepEqual(loop.Collection, ref("TeamBuses")) {
		t.Fatalf("Fn::ForEach::TeamBuses = %+v, want Bus over !Ref TeamBuses", loop)
	}
	rule, perm := loop.Template["TeamBusRule&{Bus}"], loop.Template["TeamBusRulePermission&{Bus}"]
	if len(loop.Template) != 2 || rule.Type != "AWS::Events::Rule" || perm.Type != "AWS::Lambda::Permission" {
		t.Fatalf("the loop makes %v, want TeamBusRule&{Bus} and TeamBusRulePermission&{Bus}", loop.Template)
	}
	// An empty TeamBuses is [""]: its one iteration must make nothing.
	for id, r := range loop.Template {
		if r.Condition != "HasTeamBuses" {
			t.Errorf("%s has condition %q, want HasTeamBuses", id, r.Condition)
		}
	}
	rp := rule.Properties
	if !reflect.DeepEqual(rp["EventBusName"], ref("Bus")) || rp["State"] != "ENABLED" {
		t.Errorf("team bus rule EventBusName %#v, State %#v; want !Ref Bus, ENABLED", rp["EventBusName"], rp["State"])
	}
	pattern := asMap(rp["EventPattern"])
	types := asStrings(pattern["detail-type"])
	slices.Sort(types)
	if len(pattern) != 2 || !reflect.DeepEqual(pattern["source"], []any{provisioning.RequestSource}) ||
		!slices.Equal(types, slices.Sorted(slices.Values(provisioning.RequestTypes))) {
		t.Errorf("team bus rule pattern %#v, want source %s and exactly the request types", pattern, provisioning.RequestSource)
	}
	targets := asList(rp["Targets"])
	target := asMap(targets[0])
	if len(targets) != 1 || !reflect.DeepEqual(target["Arn"], getAtt("CreateFunction", "Arn")) {
		t.Fatalf("team bus rule targets %#v, want CreateFunction alone", targets)
	}
	it := asMap(target["InputTransformer"])
	if len(it) != 1 || it["InputTemplate"] != provisioning.TeamBusInputTemplate {
		t.Errorf("team bus rule InputTransformer %#v, want InputTemplate %s alone", it, provisioning.TeamBusInputTemplate)
	}
	name, _ := rp["Name"].(string)
	wantSource := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Bus}/" + name}
	pp := perm.Properties
	if name == "" || pp["Principal"] != "events.amazonaws.com" || pp["Action"] != "lambda:InvokeFunction" ||
		!reflect.DeepEqual(pp["FunctionName"], getAtt("CreateFunction", "Arn")) || !reflect.DeepEqual(pp["SourceArn"], wantSource) {
		t.Errorf("team bus permission %#v, want lambda:InvokeFunction of CreateFunction for events.amazonaws.com with SourceArn %v", pp, wantSource)
	}
}
