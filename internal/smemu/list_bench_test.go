package smemu

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkListSecretsPage is one 100-secret page of ListSecrets over
// 10,000 secrets, the emulator's own cost.
func BenchmarkListSecretsPage(b *testing.B) {
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	e.mu.Lock()
	for i := range 10000 {
		name := fmt.Sprintf("ddconn/connections/keys/team-%05d/svc", i)
		arn := fmt.Sprintf("arn:aws:secretsmanager:us-east-1:123456789012:secret:%s-AbCdEf", name)
		e.secrets[arn] = &secret{ARN: arn, Name: name, Seq: e.nextSeq(), Created: now, LastChanged: now}
	}
	e.mu.Unlock()
	limit := 100
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.listSecrets(listSecretsInput{MaxResults: &limit}); err != nil {
			b.Fatal(err)
		}
	}
}
