package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestCallsOf(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/prod-AbCdEf"
	tests := []struct {
		name, target, body string
		want               []Call
	}{
		{"read by ARN", "secretsmanager.GetSecretValue", `{"SecretId":"` + arn + `"}`,
			[]Call{{Action: "secretsmanager:GetSecretValue", Resource: arn}}},
		{"create without tags", "secretsmanager.CreateSecret", `{"Name":"ddconn/connections/prod","SecretString":"{}"}`,
			[]Call{{Action: "secretsmanager:CreateSecret", Resource: "ddconn/connections/prod"}}},
		{"create with tags needs TagResource", "secretsmanager.CreateSecret", `{"Name":"n","Tags":[{"Key":"k","Value":"v"}]}`,
			[]Call{{Action: "secretsmanager:CreateSecret", Resource: "n"}, {Action: "secretsmanager:TagResource", Resource: "n", Via: "CreateSecret"}}},
		{"rotate needs the function", "secretsmanager.RotateSecret", `{"SecretId":"n","RotationLambdaARN":"` + RotateFunctionARN + `"}`,
			[]Call{{Action: "secretsmanager:RotateSecret", Resource: "n"}, {Action: "lambda:InvokeFunction", Resource: RotateFunctionARN, Via: "RotateSecret"}}},
		{"rotate now, function unchanged", "secretsmanager.RotateSecret", `{"SecretId":"n"}`,
			[]Call{{Action: "secretsmanager:RotateSecret", Resource: "n"}}},
		{"list names no secret", "secretsmanager.ListSecrets", `{"Filters":[]}`,
			[]Call{{Action: "secretsmanager:ListSecrets", Resource: "*"}}},
		{"unreadable body", "secretsmanager.DeleteSecret", `{"SecretId":`,
			[]Call{{Action: "secretsmanager:DeleteSecret", Resource: "?"}}},
		{"one call per entry", "AWSEvents.PutEvents", `{"Entries":[{"Source":"ddconn","EventBusName":"default","Detail":"{}"},{"Source":"x"}]}`,
			[]Call{{Action: "events:PutEvents", Resource: "default", Sources: []string{"ddconn"}}, {Action: "events:PutEvents", Sources: []string{"x"}}}},
		{"no entries", "AWSEvents.PutEvents", `{}`,
			[]Call{{Action: "events:PutEvents", Resource: "?"}}},
		{"another service", "kms.Decrypt", `{"KeyId":"k"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := callsOf(tt.target, []byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("callsOf(%s) = %+v, want %+v", tt.target, got, tt.want)
			}
		})
	}
}

// TestRecorder checks that the recorder hands the whole request on and
// keeps each function's calls apart.
func TestRecorder(t *testing.T) {
	log := &callLog{calls: map[string][]Call{}}
	var received string
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received = string(b)
	})
	body := `{"SecretId":"s"}`
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "secretsmanager.DescribeSecret")
	log.recorder("ManageFunction", next).ServeHTTP(httptest.NewRecorder(), req)

	if received != body {
		t.Errorf("the next handler read %q, want %q", received, body)
	}
	if got := log.operations("ManageFunction", "secretsmanager:"); !reflect.DeepEqual(got, []string{"DescribeSecret"}) {
		t.Errorf("ManageFunction's operations = %v, want [DescribeSecret]", got)
	}
	if got := log.all("CreateFunction"); len(got) != 0 {
		t.Errorf("CreateFunction's calls = %v, want none", got)
	}
}
