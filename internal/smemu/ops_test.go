package smemu

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestCreateSecretAndRead(t *testing.T) {
	h := newHarness(t, Options{Clock: fixedClock()})
	ctx := ctxT(t)
	out, err := h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:               aws.String("app/db"),
		ClientRequestToken: aws.String(token(1)),
		SecretString:       aws.String("v1"),
		Description:        aws.String("the database"),
		Tags:               []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	arnPattern := regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-[A-Za-z0-9]{6}$`)
	if !arnPattern.MatchString(aws.ToString(out.ARN)) || aws.ToString(out.VersionId) != token(1) {
		t.Fatalf("CreateSecret = ARN %s VersionId %s", aws.ToString(out.ARN), aws.ToString(out.VersionId))
	}
	partial := strings.TrimSuffix(aws.ToString(out.ARN), aws.ToString(out.ARN)[len(aws.ToString(out.ARN))-7:])

	for _, id := range []string{"app/db", aws.ToString(out.ARN), partial} {
		t.Run("get by "+id, func(t *testing.T) {
			got, err := h.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
			if err != nil {
				t.Fatalf("GetSecretValue: %v", err)
			}
			if aws.ToString(got.SecretString) != "v1" || aws.ToString(got.VersionId) != token(1) || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) {
				t.Fatalf("GetSecretValue = version %s stages %v", aws.ToString(got.VersionId), got.VersionStages)
			}
			if !got.CreatedDate.Equal(h.emu.Clock().Now()) {
				t.Fatalf("CreatedDate = %v, want %v", got.CreatedDate, h.emu.Clock().Now())
			}
		})
	}

	d, err := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/db")})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	switch {
	case aws.ToString(d.Description) != "the database",
		len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "team",
		d.RotationEnabled != nil, d.DeletedDate != nil, d.KmsKeyId != nil,
		!slices.Equal(d.VersionIdsToStages[token(1)], []string{"AWSCURRENT"}),
		d.LastAccessedDate == nil || !d.LastAccessedDate.Equal(h.emu.Clock().Now().Truncate(24*time.Hour)):
		t.Fatalf("DescribeSecret = %+v", d)
	}
	if got, ok := h.emu.liveARN("app/db"); !ok || got != aws.ToString(out.ARN) {
		t.Fatalf("Emulator.ARN = %s, %v", got, ok)
	}
}

func TestCreateSecretBinaryAndEmpty(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	if _, err := h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: []byte{0, 1, 2, 255}}); err != nil {
		t.Fatalf("CreateSecret binary: %v", err)
	}
	got, err := h.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil || !slices.Equal(got.SecretBinary, []byte{0, 1, 2, 255}) || got.SecretString != nil {
		t.Fatalf("GetSecretValue binary: err %v, or the value differs", err)
	}

	out, err := h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty")})
	if err != nil || out.VersionId != nil {
		t.Fatalf("CreateSecret without value = %+v, %v", out, err)
	}
	_, err = h.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("empty")})
	wantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	// The first value put into an empty secret becomes AWSCURRENT even when
	// the caller asks for another label only.
	put, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("empty"), SecretString: aws.String("first"), VersionStages: []string{"custom"}})
	if err != nil || !slices.Equal(put.VersionStages, []string{"custom", "AWSCURRENT"}) {
		t.Fatalf("PutSecretValue into empty secret = %v, %v", put, err)
	}
}

func TestCreateSecretIdempotencyAndConflicts(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	create := func(tok, value string) (*secretsmanager.CreateSecretOutput, error) {
		return h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("dup"), ClientRequestToken: aws.String(tok), SecretString: aws.String(value)})
	}
	first, err := create(token(1), "v")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, value string
		wantType, wantMsg  string
	}{
		{"same token and value is a retry", token(1), "v", "", ""},
		{"same token other value", token(1), "w", "ResourceExistsException",
			"You can't use ClientRequestToken " + token(1) + " because that value is already in use for a version of secret " + aws.ToString(first.ARN) + "."},
		{"new token", token(2), "v", "ResourceExistsException", "The operation failed because the secret dup already exists."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := create(tc.token, tc.value)
			if tc.wantType == "" {
				if err != nil || aws.ToString(out.ARN) != aws.ToString(first.ARN) || aws.ToString(out.VersionId) != token(1) {
					t.Fatalf("retry = %+v, %v", out, err)
				}
				return
			}
			var exists *types.ResourceExistsException
			if !errors.As(err, &exists) {
				t.Fatalf("want *types.ResourceExistsException, got %v", err)
			}
			wantAPIError(t, err, tc.wantType, tc.wantMsg)
		})
	}
}

func TestPutSecretValueLabels(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), ClientRequestToken: aws.String(token(1)), SecretString: aws.String("v1")})
	put := func(tok, value string, stages ...string) (*secretsmanager.PutSecretValueOutput, error) {
		return h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("s"), ClientRequestToken: aws.String(tok), SecretString: aws.String(value), VersionStages: stages})
	}
	steps := []struct {
		name       string
		do         func() error
		wantStages map[string][]string
		wantValue  string
	}{
		{"default put moves AWSCURRENT, old becomes AWSPREVIOUS", func() error { _, err := put(token(2), "v2"); return err },
			map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}, "v2"},
		{"AWSPENDING put leaves AWSCURRENT alone", func() error { _, err := put(token(3), "v3", "AWSPENDING"); return err },
			map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}, token(3): {"AWSPENDING"}}, "v2"},
		{"retry with same token and value changes nothing", func() error {
			out, err := put(token(3), "v3", "AWSPENDING")
			if err == nil && !slices.Equal(out.VersionStages, []string{"AWSPENDING"}) {
				t.Errorf("retry VersionStages = %v", out.VersionStages)
			}
			return err
		}, map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}, token(3): {"AWSPENDING"}}, "v2"},
		{"a label marks one version", func() error { _, err := put(token(4), "v4", "AWSPENDING", "blue"); return err },
			map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}, token(4): {"AWSPENDING", "blue"}}, "v2"},
		{"new AWSCURRENT write strips AWSPENDING and drops the old AWSPREVIOUS", func() error { _, err := put(token(5), "v5"); return err },
			map[string][]string{token(2): {"AWSPREVIOUS"}, token(4): {"blue"}, token(5): {"AWSCURRENT"}}, "v5"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			if got := h.stages(t, "s"); !equalStages(got, st.wantStages) {
				t.Fatalf("stages = %v, want %v", got, st.wantStages)
			}
			if got := h.currentValue(t, "s"); got != st.wantValue {
				t.Fatalf("current value changed unexpectedly")
			}
		})
	}
	t.Run("same token other value", func(t *testing.T) {
		_, err := put(token(3), "other")
		var exists *types.ResourceExistsException
		if !errors.As(err, &exists) {
			t.Fatalf("want ResourceExistsException, got %v", err)
		}
	})
	t.Run("deprecated versions are listed only on request", func(t *testing.T) {
		out, err := h.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("s")})
		if err != nil || len(out.Versions) != 3 {
			t.Fatalf("ListSecretVersionIds = %v, %v", out, err)
		}
		all, err := h.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("s"), IncludeDeprecated: aws.Bool(true)})
		if err != nil || len(all.Versions) != 5 || !slices.Equal(all.Versions[0].KmsKeyIds, []string{"DefaultEncryptionKey"}) || all.Versions[0].VersionStages != nil {
			t.Fatalf("ListSecretVersionIds(IncludeDeprecated) = %+v, %v", all, err)
		}
	})
}

func equalStages(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for id, w := range want {
		g := slices.Clone(got[id])
		w = slices.Clone(w)
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			return false
		}
	}
	return true
}

func TestGetSecretValueErrors(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("g"), ClientRequestToken: aws.String(token(1)), SecretString: aws.String("v1")})
	h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("g"), ClientRequestToken: aws.String(token(2)), SecretString: aws.String("v2"), VersionStages: []string{"AWSPENDING"}})
	h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("x")})
	h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone")})
	tests := []struct {
		name              string
		in                secretsmanager.GetSecretValueInput
		wantType, wantMsg string
	}{
		{"unknown secret", secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"unknown version", secretsmanager.GetSecretValueInput{SecretId: aws.String("g"), VersionId: aws.String(token(9))}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: " + token(9)},
		{"unknown label", secretsmanager.GetSecretValueInput{SecretId: aws.String("g"), VersionStage: aws.String("nope")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: nope"},
		{"id and label disagree", secretsmanager.GetSecretValueInput{SecretId: aws.String("g"), VersionId: aws.String(token(1)), VersionStage: aws.String("AWSPENDING")}, "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId."},
		{"scheduled for deletion", secretsmanager.GetSecretValueInput{SecretId: aws.String("gone")}, "InvalidRequestException", markedDeletedMessage},
		{"invalid name", secretsmanager.GetSecretValueInput{SecretId: aws.String("bad name!")}, "ValidationException", invalidNameMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.sm.GetSecretValue(ctx, &tc.in)
			wantAPIError(t, err, tc.wantType, tc.wantMsg)
		})
	}
	t.Run("typed errors", func(t *testing.T) {
		_, err := h.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Fatalf("want *types.ResourceNotFoundException, got %T", err)
		}
		_, err = h.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("gone")})
		var invalid *types.InvalidRequestException
		if !errors.As(err, &invalid) {
			t.Fatalf("want *types.InvalidRequestException, got %T", err)
		}
	})
}

func TestPartialARNOfNameEndingLikeASuffix(t *testing.T) {
	h := newHarness(t, Options{})
	arn := h.createSecret(t, "svc-abcdef", "v")
	partial := strings.TrimSuffix(arn, arn[len(arn)-7:])
	_, err := h.sm.GetSecretValue(ctxT(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(partial)})
	wantAPIError(t, err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func TestUpdateSecret(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("u"), ClientRequestToken: aws.String(token(1)), SecretString: aws.String("v1")})
	out, err := h.sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("u"), Description: aws.String("new")})
	if err != nil || out.VersionId != nil {
		t.Fatalf("UpdateSecret description only = %+v, %v", out, err)
	}
	out, err = h.sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("u"), ClientRequestToken: aws.String(token(2)), SecretString: aws.String("v2")})
	if err != nil || aws.ToString(out.VersionId) != token(2) {
		t.Fatalf("UpdateSecret value = %+v, %v", out, err)
	}
	if got := h.stages(t, "u"); !equalStages(got, map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}) {
		t.Fatalf("stages = %v", got)
	}
	out, err = h.sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("u"), ClientRequestToken: aws.String(token(2)), SecretString: aws.String("v2")})
	if err != nil || aws.ToString(out.VersionId) != token(2) {
		t.Fatalf("UpdateSecret retry = %+v, %v", out, err)
	}
	_, err = h.sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("u"), ClientRequestToken: aws.String(token(2)), SecretString: aws.String("v3")})
	wantAPIError(t, err, "ResourceExistsException", "")
	_, err = h.sm.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("u"), SecretString: aws.String("a"), SecretBinary: []byte("b")})
	wantAPIError(t, err, "InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	d, _ := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("u")})
	if aws.ToString(d.Description) != "new" {
		t.Fatalf("Description = %q", aws.ToString(d.Description))
	}
}

func TestUpdateSecretVersionStage(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("l"), ClientRequestToken: aws.String(token(1)), SecretString: aws.String("v1")})
	h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("l"), ClientRequestToken: aws.String(token(2)), SecretString: aws.String("v2"), VersionStages: []string{"AWSPENDING"}})
	move := func(stage, from, to string) error {
		in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("l"), VersionStage: aws.String(stage)}
		if from != "" {
			in.RemoveFromVersionId = aws.String(from)
		}
		if to != "" {
			in.MoveToVersionId = aws.String(to)
		}
		_, err := h.sm.UpdateSecretVersionStage(ctx, in)
		return err
	}
	err := move("AWSCURRENT", "", token(2))
	wantAPIError(t, err, "InvalidParameterException", "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version "+token(1)+", so you must explicitly reference that version in RemoveFromVersionId.")
	steps := []struct {
		name            string
		stage, from, to string
		want            map[string][]string
	}{
		{"move AWSCURRENT like finishSecret", "AWSCURRENT", token(1), token(2), map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSPENDING", "AWSCURRENT"}}},
		{"remove AWSPENDING", "AWSPENDING", token(2), "", map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}}},
		{"custom label", "blue", "", token(1), map[string][]string{token(1): {"AWSPREVIOUS", "blue"}, token(2): {"AWSCURRENT"}}},
		{"move AWSCURRENT back", "AWSCURRENT", token(2), token(1), map[string][]string{token(1): {"blue", "AWSCURRENT"}, token(2): {"AWSPREVIOUS"}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := move(st.stage, st.from, st.to); err != nil {
				t.Fatal(err)
			}
			if got := h.stages(t, "l"); !equalStages(got, st.want) {
				t.Fatalf("stages = %v, want %v", got, st.want)
			}
		})
	}
	t.Run("label on another version must be named", func(t *testing.T) {
		wantAPIError(t, move("blue", "", token(2)), "InvalidParameterException", "")
	})
	t.Run("unknown version", func(t *testing.T) {
		wantAPIError(t, move("blue", token(1), token(9)), "ResourceNotFoundException", "")
	})
}

func TestDeleteAndRestore(t *testing.T) {
	clock := fixedClock()
	h := newHarness(t, Options{Clock: clock})
	ctx := ctxT(t)
	arn := h.createSecret(t, "d", "v")
	h.createSecret(t, "other", "v")

	t.Run("invalid windows", func(t *testing.T) {
		for _, days := range []int64{0, 6, 31} {
			_, err := h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("d"), RecoveryWindowInDays: aws.Int64(days)})
			wantAPIError(t, err, "InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
		_, err := h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("d"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
		wantAPIError(t, err, "InvalidParameterException", "")
	})
	t.Run("scheduled deletion", func(t *testing.T) {
		out, err := h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("d"), RecoveryWindowInDays: aws.Int64(7)})
		if err != nil || !out.DeletionDate.Equal(clock.Now().Add(7*24*time.Hour)) || aws.ToString(out.ARN) != arn {
			t.Fatalf("DeleteSecret = %+v, %v", out, err)
		}
		d, err := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("d")})
		if err != nil || d.DeletedDate == nil {
			t.Fatalf("DescribeSecret of deleted = %+v, %v", d, err)
		}
		for name, call := range map[string]func() error{
			"put": func() error {
				_, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("d"), SecretString: aws.String("x")})
				return err
			},
			"tag": func() error {
				_, err := h.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("d"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
				return err
			},
			"delete": func() error {
				_, err := h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("d")})
				return err
			},
		} {
			wantAPIError(t, call(), "InvalidRequestException", markedDeletedMessage)
			_ = name
		}
		_, err = h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("d"), SecretString: aws.String("v")})
		wantAPIError(t, err, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
		if names := listNames(t, h, &secretsmanager.ListSecretsInput{}); !slices.Equal(names, []string{"other"}) {
			t.Fatalf("ListSecrets = %v", names)
		}
		if names := listNames(t, h, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)}); !slices.Equal(names, []string{"d", "other"}) {
			t.Fatalf("ListSecrets(IncludePlannedDeletion) = %v", names)
		}
	})
	t.Run("restore", func(t *testing.T) {
		if _, err := h.sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("d")}); err != nil {
			t.Fatal(err)
		}
		if got := h.currentValue(t, "d"); got != "v" {
			t.Fatal("restored value differs")
		}
	})
	t.Run("recovery window ends", func(t *testing.T) {
		h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("d"), RecoveryWindowInDays: aws.Int64(7)})
		h.emu.Advance(7*24*time.Hour + time.Second)
		_, err := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("d")})
		wantAPIError(t, err, "ResourceNotFoundException", "")
		newARN := h.createSecret(t, "d", "again")
		if newARN == arn {
			t.Fatal("a recreated secret must get a new ARN suffix")
		}
	})
	t.Run("force delete", func(t *testing.T) {
		out, err := h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("d"), ForceDeleteWithoutRecovery: aws.Bool(true)})
		if err != nil || !out.DeletionDate.Equal(clock.Now()) {
			t.Fatalf("force DeleteSecret = %+v, %v", out, err)
		}
		if _, ok := h.emu.liveARN("d"); ok {
			t.Fatal("force-deleted secret still resolves")
		}
		ghost, err := h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never-was"), ForceDeleteWithoutRecovery: aws.Bool(true)})
		if err != nil || aws.ToString(ghost.Name) != "never-was" || !strings.HasPrefix(aws.ToString(ghost.ARN), "arn:aws:secretsmanager:") {
			t.Fatalf("force delete of unknown secret = %+v, %v", ghost, err)
		}
		_, err = h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never-was")})
		wantAPIError(t, err, "ResourceNotFoundException", "")
	})
}

func listNames(t *testing.T, h *harness, in *secretsmanager.ListSecretsInput) []string {
	t.Helper()
	out, err := h.sm.ListSecrets(ctxT(t), in)
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	var names []string
	for _, s := range out.SecretList {
		names = append(names, aws.ToString(s.Name))
	}
	return names
}

func TestListSecretsFilters(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	fixtures := []struct {
		name, description string
		tags              map[string]string
	}{
		{"prod/AppBeta/one", "one two", map[string]string{"team": "core"}},
		{"prod/AppBeta/two", "one and two", map[string]string{"team": "edge", "env": "prod"}},
		{"dev/tool", "One", nil},
		{"dev-Mixed/name", "unrelated", map[string]string{"owner": "ops"}},
	}
	for _, f := range fixtures {
		in := &secretsmanager.CreateSecretInput{Name: aws.String(f.name), SecretString: aws.String("v"), Description: aws.String(f.description)}
		for k, v := range f.tags {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		if _, err := h.sm.CreateSecret(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	f := func(key types.FilterNameStringType, values ...string) types.Filter {
		return types.Filter{Key: key, Values: values}
	}
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"name prefix", []types.Filter{f("name", "prod/")}, []string{"prod/AppBeta/one", "prod/AppBeta/two"}},
		{"name is case-sensitive", []types.Filter{f("name", "PROD")}, nil},
		{"values OR", []types.Filter{f("name", "dev/", "prod/AppBeta/t")}, []string{"prod/AppBeta/two", "dev/tool"}},
		{"filters AND", []types.Filter{f("name", "prod/"), f("tag-value", "edge")}, []string{"prod/AppBeta/two"}},
		{"negated name", []types.Filter{f("name", "!prod/")}, []string{"dev/tool", "dev-Mixed/name"}},
		{"tag-key", []types.Filter{f("tag-key", "own")}, []string{"dev-Mixed/name"}},
		{"negated tag-key", []types.Filter{f("tag-key", "!team")}, []string{"dev/tool", "dev-Mixed/name"}},
		{"description words", []types.Filter{f("description", "o t")}, []string{"prod/AppBeta/one", "prod/AppBeta/two"}},
		{"description case-insensitive", []types.Filter{f("description", "one")}, []string{"prod/AppBeta/one", "prod/AppBeta/two", "dev/tool"}},
		{"same key twice is AND", []types.Filter{f("description", "one"), f("description", "and")}, []string{"prod/AppBeta/two"}},
		{"all searches camel-case words", []types.Filter{f("all", "beta")}, []string{"prod/AppBeta/one", "prod/AppBeta/two"}},
		{"all searches tags", []types.Filter{f("all", "ops")}, []string{"dev-Mixed/name"}},
		{"all does not split mixed separators", []types.Filter{f("all", "mixed")}, nil},
		{"all partial word is no match", []types.Filter{f("all", "ppBeta")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := listNames(t, h, &secretsmanager.ListSecretsInput{Filters: tc.filters})
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ListSecrets = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("invalid filter key", func(t *testing.T) {
		_, err := h.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []types.Filter{f("color", "x")}})
		wantAPIError(t, err, "ValidationException", "")
		_, err = h.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []types.Filter{{Key: "name"}}})
		wantAPIError(t, err, "InvalidParameterException", "Invalid filter values for key: name")
	})
}

func TestListSecretsPagination(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	var want []string
	for i := range 7 {
		name := "page-" + string(rune('a'+i))
		h.createSecret(t, name, "v")
		want = append(want, name)
	}
	collect := func(in secretsmanager.ListSecretsInput, between func(page int)) []string {
		var got []string
		p := secretsmanager.NewListSecretsPaginator(h.sm, &in)
		for page := 0; p.HasMorePages(); page++ {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if len(out.SecretList) > int(aws.ToInt32(in.MaxResults)) {
				t.Fatalf("page %d has %d items", page, len(out.SecretList))
			}
			for _, s := range out.SecretList {
				got = append(got, aws.ToString(s.Name))
			}
			if between != nil {
				between(page)
			}
		}
		return got
	}
	t.Run("pages in creation order", func(t *testing.T) {
		if got := collect(secretsmanager.ListSecretsInput{MaxResults: aws.Int32(3)}, nil); !slices.Equal(got, want) {
			t.Fatalf("pages = %v, want %v", got, want)
		}
	})
	t.Run("by name descending", func(t *testing.T) {
		got := collect(secretsmanager.ListSecretsInput{MaxResults: aws.Int32(2), SortBy: types.SortByTypeName, SortOrder: types.SortOrderTypeDesc}, nil)
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if !slices.Equal(got, rev) {
			t.Fatalf("pages = %v, want %v", got, rev)
		}
	})
	t.Run("deleting a listed secret does not shift later pages", func(t *testing.T) {
		got := collect(secretsmanager.ListSecretsInput{MaxResults: aws.Int32(3)}, func(page int) {
			if page == 0 {
				h.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("page-a"), ForceDeleteWithoutRecovery: aws.Bool(true)})
			}
		})
		if !slices.Equal(got, want) {
			t.Fatalf("pages = %v, want %v", got, want)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		_, err := h.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{NextToken: aws.String("garbage")})
		var bad *types.InvalidNextTokenException
		if !errors.As(err, &bad) {
			t.Fatalf("want InvalidNextTokenException, got %v", err)
		}
	})
	t.Run("MaxResults out of range", func(t *testing.T) {
		_, err := h.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(101)})
		wantAPIError(t, err, "ValidationException", "")
	})
}

func TestTags(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.createSecret(t, "t", "v")
	describeTags := func() []types.Tag {
		d, err := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("t")})
		if err != nil {
			t.Fatal(err)
		}
		return d.Tags
	}
	if tags := describeTags(); tags != nil {
		t.Fatalf("never-tagged secret shows Tags %v", tags)
	}
	tag := func(kv ...string) error {
		var tags []types.Tag
		for i := 0; i < len(kv); i += 2 {
			tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		_, err := h.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("t"), Tags: tags})
		return err
	}
	if err := tag("a", "1", "b", "2"); err != nil {
		t.Fatal(err)
	}
	if err := tag("a", "3"); err != nil {
		t.Fatal(err)
	}
	if tags := describeTags(); len(tags) != 2 || aws.ToString(tags[0].Value) != "3" {
		t.Fatalf("Tags = %v", tags)
	}
	if _, err := h.sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String("t"), TagKeys: []string{"a", "b", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if tags := describeTags(); tags == nil || len(tags) != 0 {
		t.Fatalf("after untagging everything Tags = %v, want []", tags)
	}
	wantAPIError(t, tag("aws:reserved", "x"), "InvalidParameterException", "")
	var many []string
	for i := range 51 {
		many = append(many, "k"+leftPad(i), "v")
	}
	wantAPIError(t, tag(many...), "InvalidParameterException", "")
}

func TestValidation(t *testing.T) {
	h := newHarness(t, Options{})
	ctx := ctxT(t)
	h.createSecret(t, "v", "x")
	tests := []struct {
		name     string
		call     func() error
		wantType string
	}{
		{"invalid name", func() error {
			_, err := h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bad name"), SecretString: aws.String("x")})
			return err
		}, "ValidationException"},
		{"name too long", func() error {
			_, err := h.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(strings.Repeat("n", 513)), SecretString: aws.String("x")})
			return err
		}, "ValidationException"},
		{"value too long", func() error {
			_, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("v"), SecretString: aws.String(strings.Repeat("x", 65537))})
			return err
		}, "ValidationException"},
		{"no value", func() error {
			_, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("v")})
			return err
		}, "InvalidRequestException"},
		{"token too short", func() error {
			_, err := h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("v"), ClientRequestToken: aws.String("short"), SecretString: aws.String("x")})
			return err
		}, "ValidationException"},
		{"too many labels", func() error {
			var err error
			for i := range 20 {
				_, err = h.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("v"), SecretString: aws.String("x" + leftPad(i)), VersionStages: []string{"label" + leftPad(i)}})
				if err != nil {
					return err
				}
			}
			return nil
		}, "LimitExceededException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, tc.call(), tc.wantType, "")
		})
	}
}
