package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// LoadCases decodes the "cases" array of the JSON file at path: a
// stand-in's conformance table.
func LoadCases[C any](t testing.TB, path string) []C {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []C `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return doc.Cases
}

// RunCases runs each case as a subtest named name(c) and logs how many
// passed, were skipped and failed against subject. skip says why a case
// is skipped on this subject (a known deviation of a peer such as moto);
// "" runs it.
func RunCases[C any](t *testing.T, subject string, cases []C, name, skip func(C) string, run func(t *testing.T, i int, c C)) {
	t.Helper()
	passed, skipped, failed := 0, 0, 0
	for i, c := range cases {
		completed := false
		ok := t.Run(name(c), func(t *testing.T) {
			if why := skip(c); why != "" {
				skipped++
				t.Skip(why)
			}
			run(t, i, c)
			completed = true
		})
		switch {
		case ok && completed:
			passed++
		case !ok:
			failed++
		}
	}
	t.Logf("conformance summary for %s: %d passed, %d skipped as known deviations, %d failed", subject, passed, skipped, failed)
}

// PostAWSJSON sends input to endpoint as an AWS JSON 1.1 request for the
// operation target (the X-Amz-Target header, such as
// "secretsmanager.GetSecretValue"), with a well-formed but unchecked
// signature for service in us-east-1: the stand-ins check none, and moto
// takes the region from the credential scope. It returns the HTTP status
// and the decoded answer; an answer that is not JSON comes back as
// {"__raw": its first 200 bytes}.
func PostAWSJSON(t testing.TB, endpoint, service, target string, input any) (int, map[string]any) {
	t.Helper()
	body, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/"+service+"/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	req.Header.Set("X-Amz-Date", "20250101T000000Z")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		if len(raw) > 200 {
			raw = append(raw[:200:200], "…"...)
		}
		out = map[string]any{"__raw": string(raw)}
	}
	return resp.StatusCode, out
}

// AWSErrorCode is the error code in an AWS JSON error's __type, without
// the namespace and the suffix some servers add:
// "com.amazonaws.secretsmanager#ResourceNotFoundException:http://…" is
// "ResourceNotFoundException".
func AWSErrorCode(errType string) string {
	if i := strings.LastIndex(errType, "#"); i >= 0 {
		errType = errType[i+1:]
	}
	code, _, _ := strings.Cut(errType, ":")
	return code
}
