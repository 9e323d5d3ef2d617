package smemu

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestLatencyAndRequestCount: every API request waits the configured
// latency and is counted.
func TestLatencyAndRequestCount(t *testing.T) {
	h := newHarness(t, Options{Latency: 40 * time.Millisecond})
	start := time.Now()
	_, err := h.sm.ListSecrets(ctxT(t), &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)})
	if took := time.Since(start); err != nil || took < 40*time.Millisecond {
		t.Fatalf("ListSecrets = %v after %v, want success after at least 40ms", err, took)
	}
	h.emu.SetLatency(0)
	start = time.Now()
	if _, err := h.sm.ListSecrets(ctxT(t), &secretsmanager.ListSecretsInput{}); err != nil || time.Since(start) > 35*time.Millisecond {
		t.Fatalf("ListSecrets without latency = %v after %v", err, time.Since(start))
	}
	if got := h.emu.Requests(); got != 2 {
		t.Fatalf("Requests() = %d, want 2", got)
	}
}
