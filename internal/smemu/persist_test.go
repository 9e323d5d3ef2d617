package smemu

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestPersistenceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "smemu.json")
	clock := fixedClock()

	first := newHarness(t, Options{DataFile: path, Clock: clock})
	ctx := ctxT(t)
	arn := first.createSecret(t, "keep", "v1")
	first.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("keep"), ClientRequestToken: aws.String(token(2)), SecretString: aws.String("v2")})
	first.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("keep"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	first.createSecret(t, "doomed", "x")
	first.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("doomed"), RecoveryWindowInDays: aws.Int64(7)})
	if err := first.emu.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("data file: %v, mode %v (want 0600: it holds secret values)", err, info.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}

	second := newHarness(t, Options{DataFile: path, Clock: clock})
	if got, ok := second.emu.liveARN("keep"); !ok || got != arn {
		t.Fatalf("ARN after reload = %s, %v; want %s", got, ok, arn)
	}
	if got := second.currentValue(t, "keep"); got != "v2" {
		t.Fatal("current value not restored")
	}
	if got := second.stages(t, "keep"); !slices.Equal(got[token(2)], []string{"AWSCURRENT"}) || len(got) != 2 {
		t.Fatalf("stages after reload = %v", got)
	}
	d, err := second.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("doomed")})
	if err != nil || d.DeletedDate == nil || !d.DeletedDate.Equal(clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("deleted secret after reload = %+v, %v", d, err)
	}
	if len(listNames(t, second, &secretsmanager.ListSecretsInput{})) != 1 {
		t.Fatal("pending deletion must stay hidden after reload")
	}
	// A new secret after the reload must not reuse sequence numbers, or the
	// listing order would break.
	second.createSecret(t, "later", "v")
	if names := listNames(t, second, &secretsmanager.ListSecretsInput{}); !slices.Equal(names, []string{"keep", "later"}) {
		t.Fatalf("order after reload = %v", names)
	}
}

func TestPersistenceRejectsCorruptFile(t *testing.T) {
	tests := []struct{ name, content string }{
		{"not json", "{"},
		{"unknown format", `{"format": 99, "secrets": []}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "smemu.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Options{DataFile: path}); err == nil {
				t.Fatal("New accepted a corrupt data file")
			}
		})
	}
}

func TestPersistenceMissingFileStartsEmpty(t *testing.T) {
	h := newHarness(t, Options{DataFile: filepath.Join(t.TempDir(), "absent.json")})
	if names := listNames(t, h, &secretsmanager.ListSecretsInput{}); len(names) != 0 {
		t.Fatalf("secrets = %v", names)
	}
}

// TestPersistenceLoadsFixture pins the DataFile format: a file written by an
// earlier version must still load.
func TestPersistenceLoadsFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "smemu.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{DataFile: path, Clock: fixedClock()})
	const name = "ddconn/connections/demo"
	if arn, ok := h.emu.liveARN(name); !ok || arn != "arn:aws:secretsmanager:us-east-1:123456789012:secret:ddconn/connections/demo-Ab12Cd" {
		t.Fatalf("ARN = %s, %v", arn, ok)
	}
	if h.currentValue(t, name) != "fixture-new" {
		t.Fatal("AWSCURRENT value not loaded")
	}
	d := h.describe(t, name)
	if !aws.ToBool(d.RotationEnabled) || aws.ToInt64(d.RotationRules.AutomaticallyAfterDays) != 30 ||
		!d.NextRotationDate.Equal(time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)) || len(d.Tags) != 1 {
		t.Fatalf("DescribeSecret = %+v", d)
	}
	if got := h.stages(t, name); !equalStages(got, map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}) {
		t.Fatalf("stages = %v", got)
	}
}
