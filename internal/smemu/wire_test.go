package smemu

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

func TestWireFormat(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name       string
		target     string
		body       map[string]any
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"error body and status", "secretsmanager.DescribeSecret", map[string]any{"SecretId": "missing"},
			400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"put without token", "secretsmanager.PutSecretValue", map[string]any{"SecretId": "w", "SecretString": "x"},
			400, "InvalidRequestException", missingTokenMessage},
		{"create with value without token", "secretsmanager.CreateSecret", map[string]any{"Name": "w2", "SecretString": "x"},
			400, "InvalidRequestException", missingTokenMessage},
		{"rotate without token", "secretsmanager.RotateSecret", map[string]any{"SecretId": "w"},
			400, "InvalidParameterException", missingTokenMessage},
		{"unknown operation", "secretsmanager.GetRandomPassword", map[string]any{},
			400, "UnknownOperationException", "The operation secretsmanager.GetRandomPassword is not supported by this emulator (smemu)."},
		{"missing target", "", map[string]any{}, 400, "UnknownOperationException", ""},
		{"wrong field type", "secretsmanager.ListSecrets", map[string]any{"MaxResults": "ten"}, 400, "SerializationException", ""},
	}
	h.createSecret(t, "w", "v")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawCall(t, h.srv.URL, tc.target, tc.body)
			if status != tc.wantStatus || body["__type"] != tc.wantType {
				t.Fatalf("answer = %d %v, want %d %s", status, body["__type"], tc.wantStatus, tc.wantType)
			}
			if tc.wantMsg != "" && body["Message"] != tc.wantMsg {
				t.Fatalf("Message = %q, want %q", body["Message"], tc.wantMsg)
			}
		})
	}
	t.Run("timestamps are epoch seconds", func(t *testing.T) {
		status, body := rawCall(t, h.srv.URL, "secretsmanager.DescribeSecret", map[string]any{"SecretId": "w"})
		created, ok := body["CreatedDate"].(float64)
		if status != 200 || !ok || created < 1e9 {
			t.Fatalf("CreatedDate = %#v (status %d)", body["CreatedDate"], status)
		}
	})
	t.Run("the SDK sees an unknown operation as an API error", func(t *testing.T) {
		_, err := h.sm.GetRandomPassword(ctxT(t), &secretsmanager.GetRandomPasswordInput{})
		wantAPIError(t, err, "UnknownOperationException", "")
	})
	t.Run("GET is refused", func(t *testing.T) {
		status, body := adminCall(t, http.MethodGet, h.srv.URL+"/", "")
		if status != http.StatusMethodNotAllowed || body["__type"] != "UnknownOperationException" {
			t.Fatalf("GET / = %d %v", status, body)
		}
	})
}

func TestFaultsFromGo(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.createSecret(t, "f", "v")
	get := func() error {
		_, err := h.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("f")})
		return err
	}
	h.emu.AddFault(Fault{Operation: "GetSecretValue", Error: "ThrottlingException", Count: 2})
	for i := range 2 {
		err := get()
		wantAPIError(t, err, "ThrottlingException", "Rate exceeded")
		_ = i
	}
	if err := get(); err != nil {
		t.Fatalf("third call: %v", err)
	}

	t.Run("internal error is a 500 server fault", func(t *testing.T) {
		h.emu.AddFault(Fault{Operation: "*", Error: "InternalServiceError"})
		_, err := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("f")})
		var internal *types.InternalServiceError
		if !errors.As(err, &internal) || internal.ErrorFault() != smithy.FaultServer {
			t.Fatalf("want *types.InternalServiceError, got %v", err)
		}
		var resp interface{ HTTPStatusCode() int }
		if !errors.As(err, &resp) || resp.HTTPStatusCode() != 500 {
			t.Fatalf("status = %v", err)
		}
	})
	t.Run("latency only", func(t *testing.T) {
		h.emu.AddFault(Fault{Operation: "GetSecretValue", Delay: 30 * time.Millisecond})
		start := time.Now()
		if err := get(); err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
			t.Fatalf("call took %v, want at least the injected 30ms", elapsed)
		}
	})
	t.Run("other operations are unaffected and ClearFaults disarms", func(t *testing.T) {
		h.emu.AddFault(Fault{Operation: "PutSecretValue", Error: "ThrottlingException", Count: 5})
		if err := get(); err != nil {
			t.Fatal(err)
		}
		h.emu.ClearFaults()
		if _, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("f"), SecretString: aws.String("v2")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFaultsOverHTTP(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.createSecret(t, "f", "v")
	put := func() error {
		_, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("f"), SecretString: aws.String("v2")})
		return err
	}
	status, body := adminCall(t, http.MethodPost, h.srv.URL+"/_emu/faults", `{"operation":"PutSecretValue","error":"InternalServiceError","count":1,"delayMs":0}`)
	if status != http.StatusCreated || len(body["faults"].([]any)) != 1 {
		t.Fatalf("POST /_emu/faults = %d %v", status, body)
	}
	wantAPIError(t, put(), "InternalServiceError", "")
	if err := put(); err != nil {
		t.Fatalf("second put: %v", err)
	}

	adminCall(t, http.MethodPost, h.srv.URL+"/_emu/faults", `{"operation":"PutSecretValue","error":"ThrottlingException","count":3}`)
	if status, _ := adminCall(t, http.MethodDelete, h.srv.URL+"/_emu/faults", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE /_emu/faults = %d", status)
	}
	if err := put(); err != nil {
		t.Fatalf("put after DELETE: %v", err)
	}
	for _, bad := range []string{`{"error":"Not A Type"}`, `{"count":-1}`, `{"bogus":1}`, `not json`} {
		if status, _ := adminCall(t, http.MethodPost, h.srv.URL+"/_emu/faults", bad); status != http.StatusBadRequest {
			t.Errorf("POST /_emu/faults %s = %d, want 400", bad, status)
		}
	}
}

func TestClockEndpoint(t *testing.T) {
	clock := fixedClock()
	h := newHarness(t, Options{Clock: clock})
	start := clock.Now()
	tests := []struct {
		body       string
		wantStatus int
		wantOffset time.Duration
	}{
		{`{"advance":"24h"}`, 200, 24 * time.Hour},
		{`{"advance":"2d"}`, 200, 72 * time.Hour},
		{`{"advance":"-1h"}`, 400, 72 * time.Hour},
		{`{"advance":"soon"}`, 400, 72 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			status, body := adminCall(t, http.MethodPost, h.srv.URL+"/_emu/clock", tc.body)
			if status != tc.wantStatus || clock.Now().Sub(start) != tc.wantOffset {
				t.Fatalf("POST /_emu/clock = %d %v; offset %v, want %d and %v", status, body, clock.Now().Sub(start), tc.wantStatus, tc.wantOffset)
			}
			if status == 200 && !strings.HasPrefix(body["now"].(string), "2025-03-1") {
				t.Fatalf("now = %v", body["now"])
			}
		})
	}
	if status, _ := adminCall(t, http.MethodGet, h.srv.URL+"/_emu/nothing", ""); status != http.StatusNotFound {
		t.Fatalf("unknown admin path = %d", status)
	}
}
