package smemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testLambda  = "arn:aws:lambda:us-east-1:123456789012:function:rotator"
)

// harness is an emulator served over real HTTP with a real SDK client.
type harness struct {
	emu *Emulator
	srv *httptest.Server
	sm  *secretsmanager.Client
}

// newHarness starts an emulator (worker running) behind an httptest server.
func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	emu, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	emu.Start()
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		srv.Close()
		if err := emu.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &harness{emu: emu, srv: srv, sm: newClient(srv.URL)}
}

// newClient is the real aws-sdk-go-v2 client pointed at endpoint, with
// static credentials and no retries (so faults are seen one by one).
func newClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantAPIError fails unless err is a smithy.APIError with this code and,
// when msg is not empty, this message.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code = %s (%s), want %s", apiErr.ErrorCode(), apiErr.ErrorMessage(), code)
	}
	if msg != "" && apiErr.ErrorMessage() != msg {
		t.Fatalf("error message = %q, want %q", apiErr.ErrorMessage(), msg)
	}
}

// token returns a deterministic, valid ClientRequestToken for a test.
func token(n int) string {
	return "00000000-0000-4000-8000-" + leftPad(n)
}

func leftPad(n int) string {
	s := []byte("000000000000")
	for i := len(s) - 1; n > 0 && i >= 0; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return string(s)
}

// createSecret creates name with a string value and returns its ARN.
func (h *harness) createSecret(t *testing.T, name, value string) string {
	t.Helper()
	out, err := h.sm.CreateSecret(ctxT(t), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("CreateSecret %s: %v", name, err)
	}
	return aws.ToString(out.ARN)
}

func (h *harness) stages(t *testing.T, id string) map[string][]string {
	t.Helper()
	out, err := h.sm.DescribeSecret(ctxT(t), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeSecret %s: %v", id, err)
	}
	return out.VersionIdsToStages
}

func (h *harness) currentValue(t *testing.T, id string) string {
	t.Helper()
	out, err := h.sm.GetSecretValue(ctxT(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetSecretValue %s: %v", id, err)
	}
	return aws.ToString(out.SecretString)
}

// rawCall posts an AWS JSON 1.1 request and returns status and decoded body.
func rawCall(t *testing.T, endpoint, target string, body any) (int, map[string]any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, endpoint+"/", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("decoding %s answer: %v", target, err)
		}
	}
	return resp.StatusCode, out
}

// adminCall sends a request to an /_emu/ endpoint and decodes the answer.
func adminCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("decoding %s %s answer: %v", method, url, err)
		}
	}
	return resp.StatusCode, out
}

// fixedClock returns a clock frozen at a known instant (until advanced).
func fixedClock() *Clock {
	base := time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)
	return NewClock(func() time.Time { return base })
}
