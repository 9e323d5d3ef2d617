package devstack_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ddconn/ddconn/internal/devstack"
)

// TestRequireSigV4 checks the dev server's SigV4 check: requests signed
// with the SDK's signer and the test credentials pass; unsigned ones, ones
// changed after signing, and ones signed otherwise are refused with 403.
func TestRequireSigV4(t *testing.T) {
	st := start(t, devstack.Options{SeedDemo: true, RequireSigV4: true})
	t.Cleanup(func() { _ = st.Close() })
	const region = "us-east-1"
	other := aws.Credentials{AccessKeyID: devstack.SigV4Credentials.AccessKeyID, SecretAccessKey: "not-the-secret"}
	tests := []struct {
		name       string
		method     string
		path, body string
		creds      *aws.Credentials // nil: not signed
		region     string
		service    string
		signedAt   time.Time
		tamper     func(*http.Request)
		wantStatus int
	}{
		{name: "signed GET", method: "GET", path: "/connections/nope", creds: &devstack.SigV4Credentials, wantStatus: 404},
		{name: "signed GET with a query", method: "GET", path: "/connections?limit=5", creds: &devstack.SigV4Credentials, wantStatus: 200},
		{name: "signed POST with a body", method: "POST", path: "/connections/validate", body: `{"credentials":{}}`,
			creds: &devstack.SigV4Credentials, wantStatus: 400},
		{name: "unsigned", method: "GET", path: "/connections", wantStatus: 403},
		{name: "wrong secret", method: "GET", path: "/connections", creds: &other, wantStatus: 403},
		{name: "other region", method: "GET", path: "/connections", creds: &devstack.SigV4Credentials, region: "eu-west-1", wantStatus: 403},
		{name: "other service", method: "GET", path: "/connections", creds: &devstack.SigV4Credentials, service: "lambda", wantStatus: 403},
		{name: "stale signature", method: "GET", path: "/connections", creds: &devstack.SigV4Credentials,
			signedAt: time.Now().Add(-time.Hour), wantStatus: 403},
		{name: "body changed", method: "POST", path: "/connections/validate", body: `{"credentials":{}}`, creds: &devstack.SigV4Credentials,
			tamper: func(r *http.Request) {
				b := `{"credentials":{"x":1}}`
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
			}, wantStatus: 403},
		{name: "path changed", method: "GET", path: "/connections/a", creds: &devstack.SigV4Credentials,
			tamper: func(r *http.Request) { r.URL.Path = "/connections/b" }, wantStatus: 403},
		{name: "query changed", method: "GET", path: "/connections?limit=5", creds: &devstack.SigV4Credentials,
			tamper: func(r *http.Request) { r.URL.RawQuery = "limit=6" }, wantStatus: 403},
		{name: "method changed", method: "GET", path: "/connections/a", creds: &devstack.SigV4Credentials,
			tamper: func(r *http.Request) { r.Method = "DELETE" }, wantStatus: 403},
		{name: "signed header changed", method: "GET", path: "/connections", creds: &devstack.SigV4Credentials,
			tamper: func(r *http.Request) { r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z")) }, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, st.APIURL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.creds != nil {
				sum := sha256.Sum256([]byte(tt.body))
				signedAt := tt.signedAt
				if signedAt.IsZero() {
					signedAt = time.Now().Add(-2 * time.Second) // so the "signed header changed" case differs
				}
				err := v4.NewSigner().SignHTTP(context.Background(), *tt.creds, req, hex.EncodeToString(sum[:]),
					cmp.Or(tt.service, devstack.SigV4Service), cmp.Or(tt.region, region), signedAt)
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.tamper != nil {
				tt.tamper(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, b)
			}
			if tt.wantStatus == 403 && !strings.Contains(string(b), `"message"`) {
				t.Errorf("a refusal has API Gateway's shape {\"message\": …}; got %s", b)
			}
		})
	}
}
