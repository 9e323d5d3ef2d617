package provisioning

import "testing"

func TestHomeOf(t *testing.T) {
	want := Home{Partition: "aws", Region: "us-east-1", Account: "111111111111"}
	for arn, ok := range map[string]bool{
		"arn:aws:lambda:us-east-1:111111111111:function:ddconn-create":        true,
		"arn:aws:lambda:us-east-1:111111111111:function:ddconn-create:live":   true,
		"arn:aws:lambda:us-east-1:111111111111:layer:ddconn-create":           false,
		"arn:aws:events:us-east-1:111111111111:rule/team-a-requests/ddconn-x": false,
		"": false,
	} {
		got, gotOK := HomeOf(arn)
		if gotOK != ok || ok && got != want {
			t.Errorf("HomeOf(%q) = %+v, %v; want %+v, %v", arn, got, gotOK, want, ok)
		}
	}
}

func TestTeamBus(t *testing.T) {
	h := Home{Partition: "aws", Region: "us-east-1", Account: "111111111111"}
	for arn, want := range map[string]string{
		"arn:aws:events:us-east-1:111111111111:rule/team-a-requests/ddconn-provisioning": "team-a-requests",
		"arn:aws-cn:events:us-east-1:111111111111:rule/team-a-requests/r":                "",
		"arn:aws:events:us-east-2:111111111111:rule/team-a-requests/r":                   "",
		"arn:aws:events:us-east-1:222222222222:rule/team-a-requests/r":                   "",
		"arn:aws:events:us-east-1:111111111111:rule/ddconn-provisioning":                 "",
		"arn:aws:events:us-east-1:111111111111:event-bus/team-a-requests":                "",
		"arn:aws:lambda:us-east-1:111111111111:rule/team-a-requests/r":                   "",
		"": "",
	} {
		if got, ok := h.teamBus(arn); got != want || ok != (want != "") {
			t.Errorf("teamBus(%q) = %q, %v; want %q", arn, got, ok, want)
		}
	}
	if _, ok := (Home{}).teamBus("arn:aws:events:us-east-1:111111111111:rule/b/r"); ok {
		t.Error("a zero Home accepted a rule")
	}
}
