package provisioning

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
)

func TestCheckStagingARN(t *testing.T) {
	p := New(nil, nil, nil, Options{Prefix: "ddconn/connections/"})
	tests := []struct {
		arn  string
		team string
		ok   bool
	}{
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/prod-AbCdEf", "", true},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/team-a/prod-AbCdEf", "team-a", true},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/team-b/prod-AbCdEf", "team-a", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/prod-AbCdEf", "team-a", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/team-a/", "team-a", false},
		{"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:ddconn/connections/staging/x", "", true},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/prod-AbCdEf", "", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/", "", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:other/staging/x", "", false},
		{"arn:aws:ssm:us-east-1:123456789012:parameter:ddconn/connections/staging/x", "", false},
		{"ddconn/connections/staging/x", "", false},
		{"", "", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/staging/" + strings.Repeat("x", 2048), "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.70s", tt.arn), func(t *testing.T) {
			err := p.checkStagingARN(tt.arn, tt.team)
			if (err == nil) != tt.ok {
				t.Fatalf("checkStagingARN = %v, want ok=%v", err, tt.ok)
			}
			var f *failure
			if err != nil && (!errors.As(err, &f) || f.reason != ReasonInvalidRequest || f.details[0].Field != "credentialsSecretArn") {
				t.Fatalf("error %v is not an invalid-request failure naming credentialsSecretArn", err)
			}
		})
	}
}

func TestParseStaged(t *testing.T) {
	const api, app = "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"both keys", `{"apiKey":"` + api + `","applicationKey":"` + app + `"}`, true},
		{"missing app key", `{"apiKey":"` + api + `"}`, false},
		{"extra field", `{"apiKey":"` + api + `","applicationKey":"` + app + `","url":"x"}`, false},
		{"null", `null`, false},
		{"a string", `"` + api + `"`, false},
		{"trailing", `{"apiKey":"` + api + `","applicationKey":"` + app + `"} x`, false},
		{"oversize", `{"apiKey":"` + strings.Repeat("a", maxStagingBytes) + `","applicationKey":"b"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, ok := parseStaged(tt.value)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok && (keys.APIKey != api || keys.ApplicationKey != app) {
				t.Fatal("the keys were not read back")
			}
			testkit.AssertNoKeyMaterial(t, fmt.Sprintf("%v %+v %#v", keys, keys, keys), api, app)
		})
	}
}
