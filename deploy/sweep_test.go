package deploy

import (
	"reflect"
	"testing"

	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// TestSweepFansOutOnTheBus checks the rule that hands the pages of a sweep
// back to the rotate function (functions/rotate publishes them): on the
// stack's bus, ddconn's source and sweeper.PageDetailType only, this
// account only, with retries and a dead-letter queue that an alarm
// watches.
func TestSweepFansOutOnTheBus(t *testing.T) {
	tpl := loadTemplate(t)
	ev := asMap(asMap(tpl.FunctionProperties("RotateFunction")["Events"])["SweepPage"])
	if ev["Type"] != "EventBridgeRule" {
		t.Fatalf("RotateFunction's SweepPage event = %#v, want an EventBridgeRule", ev)
	}
	p := asMap(ev["Properties"])
	if !reflect.DeepEqual(p["EventBusName"], ref("EventBusName")) {
		t.Errorf("SweepPage bus = %#v, want !Ref EventBusName", p["EventBusName"])
	}
	pat := asMap(p["Pattern"])
	if !reflect.DeepEqual(asList(pat["source"]), []any{eventbus.DefaultSource}) ||
		!reflect.DeepEqual(asList(pat["detail-type"]), []any{sweeper.PageDetailType}) ||
		!reflect.DeepEqual(asList(pat["account"]), []any{ref("AWS::AccountId")}) {
		t.Errorf("SweepPage pattern = %#v, want source %q, detail-type %q, this account", pat, eventbus.DefaultSource, sweeper.PageDetailType)
	}
	dlq := asMap(p["DeadLetterConfig"])
	if dlq["Type"] != "SQS" || dlq["QueueLogicalId"] == nil || asMap(p["RetryPolicy"])["MaximumRetryAttempts"] == nil {
		t.Errorf("SweepPage = %#v, want a RetryPolicy and an SQS DeadLetterConfig", p)
	}
	alarmed := false
	for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
		for _, d := range asList(tpl.Resources[id].Properties["Dimensions"]) {
			if reflect.DeepEqual(asMap(d)["Value"], map[string]any{"Fn::GetAtt": []any{dlq["QueueLogicalId"], "QueueName"}}) {
				alarmed = true
			}
		}
	}
	if !alarmed {
		t.Errorf("no alarm watches %v", dlq["QueueLogicalId"])
	}
}
