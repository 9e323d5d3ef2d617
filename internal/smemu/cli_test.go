package smemu

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/peer"
)

// awsCLI runs the aws CLI against the emulator and decodes its JSON output.
type awsCLI struct {
	t        *testing.T
	bin      string
	endpoint string
	env      []string
}

func newAWSCLI(t *testing.T, endpoint string) *awsCLI {
	t.Helper()
	bin, env := peer.AWSCLI(t)
	return &awsCLI{t: t, bin: bin, endpoint: endpoint, env: env}
}

// run executes `aws secretsmanager <args>` and returns the decoded output.
func (c *awsCLI) run(args ...string) map[string]any {
	c.t.Helper()
	out, stderr, err := c.exec(args...)
	if err != nil {
		c.t.Fatalf("aws secretsmanager %v: %v\n%s", args[0], err, stderr)
	}
	var doc map[string]any
	if len(bytes.TrimSpace(out)) == 0 {
		return doc
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		c.t.Fatalf("aws secretsmanager %v: output is not JSON: %v", args[0], err)
	}
	return doc
}

// fail executes a command that must fail and returns its stderr.
func (c *awsCLI) fail(args ...string) string {
	c.t.Helper()
	_, stderr, err := c.exec(args...)
	if err == nil {
		c.t.Fatalf("aws secretsmanager %v succeeded, want an error", args[0])
	}
	return string(stderr)
}

func (c *awsCLI) exec(args ...string) ([]byte, []byte, error) {
	full := append([]string{"secretsmanager"}, args...)
	full = append(full, "--endpoint-url", c.endpoint, "--output", "json")
	cmd := exec.CommandContext(ctxT(c.t), c.bin, full...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// TestAWSCLI drives the emulator with the aws CLI. Each CLI start costs
// about a second, so independent groups run in parallel.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	newAWSCLI(t, "") // skip early when the CLI is missing
	rot := newTemplateRotator()
	h := newHarness(t, Options{Invoker: Router{Routes: map[string]Invoker{testLambda: rot}}})
	rot.setClient(h.sm)
	t.Run("versions, labels and rotation", func(t *testing.T) {
		t.Parallel()
		cliVersionsAndRotation(t, h, newAWSCLI(t, h.srv.URL))
	})
	t.Run("tags and list", func(t *testing.T) {
		t.Parallel()
		cliTagsAndList(t, newAWSCLI(t, h.srv.URL))
	})
	t.Run("delete and restore", func(t *testing.T) {
		t.Parallel()
		cliDeleteAndRestore(t, newAWSCLI(t, h.srv.URL))
	})
}

func cliVersionsAndRotation(t *testing.T, h *harness, cli *awsCLI) {
	created := cli.run("create-secret", "--name", "cli/app", "--secret-string", "v1", "--description", "from the CLI",
		"--client-request-token", token(1))
	arn, _ := created["ARN"].(string)
	if created["Name"] != "cli/app" || created["VersionId"] != token(1) || arn == "" {
		t.Fatalf("create-secret = %v", created)
	}
	if got := cli.run("get-secret-value", "--secret-id", arn); got["SecretString"] != "v1" || !sameStrings(got["VersionStages"], "AWSCURRENT") {
		t.Fatalf("get-secret-value = stages %v", got["VersionStages"])
	}
	put := cli.run("put-secret-value", "--secret-id", "cli/app", "--secret-string", "v2", "--client-request-token", token(2), "--version-stages", "AWSPENDING")
	if put["VersionId"] != token(2) || !sameStrings(put["VersionStages"], "AWSPENDING") {
		t.Fatalf("put-secret-value = %v", put)
	}
	cli.run("update-secret-version-stage", "--secret-id", "cli/app", "--version-stage", "AWSCURRENT",
		"--move-to-version-id", token(2), "--remove-from-version-id", token(1))
	desc := cli.run("describe-secret", "--secret-id", "cli/app")
	stages, _ := desc["VersionIdsToStages"].(map[string]any)
	if !sameStrings(stages[token(1)], "AWSPREVIOUS") || !sameStrings(stages[token(2)], "AWSCURRENT", "AWSPENDING") || desc["Description"] != "from the CLI" {
		t.Fatalf("describe-secret = %v", desc)
	}
	cli.run("update-secret-version-stage", "--secret-id", "cli/app", "--version-stage", "AWSPENDING", "--remove-from-version-id", token(2))
	rotated := cli.run("rotate-secret", "--secret-id", "cli/app", "--rotation-lambda-arn", testLambda,
		"--rotation-rules", "AutomaticallyAfterDays=30", "--client-request-token", token(3))
	if rotated["VersionId"] != token(3) {
		t.Fatalf("rotate-secret = %v", rotated)
	}
	h.waitIdle(t)
	versions := cli.run("list-secret-version-ids", "--secret-id", "cli/app")
	list, _ := versions["Versions"].([]any)
	if len(list) != 2 {
		t.Fatalf("list-secret-version-ids = %v", versions)
	}
	for _, v := range list {
		v := v.(map[string]any)
		if v["VersionId"] == token(3) && !sameStrings(v["VersionStages"], "AWSCURRENT") {
			t.Fatalf("after rotation the new version has %v", v["VersionStages"])
		}
	}
}

func cliTagsAndList(t *testing.T, cli *awsCLI) {
	cli.run("create-secret", "--name", "cli/tags", "--secret-string", "v", "--tags", "Key=team,Value=core")
	cli.run("tag-resource", "--secret-id", "cli/tags", "--tags", "Key=env,Value=dev")
	cli.run("untag-resource", "--secret-id", "cli/tags", "--tag-keys", "team")
	listed := cli.run("list-secrets", "--filters", "Key=tag-key,Values=env")
	list, _ := listed["SecretList"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["Name"] != "cli/tags" {
		t.Fatalf("list-secrets = %v", listed)
	}
	if tags, _ := list[0].(map[string]any)["Tags"].([]any); len(tags) != 1 || tags[0].(map[string]any)["Key"] != "env" {
		t.Fatalf("tags = %v", tags)
	}
}

func cliDeleteAndRestore(t *testing.T, cli *awsCLI) {
	cli.run("create-secret", "--name", "cli/del", "--secret-string", "kept")
	deleted := cli.run("delete-secret", "--secret-id", "cli/del", "--recovery-window-in-days", "7")
	if _, ok := deleted["DeletionDate"].(float64); !ok {
		t.Fatalf("delete-secret = %v", deleted)
	}
	if stderr := cli.fail("get-secret-value", "--secret-id", "cli/del"); !strings.Contains(stderr, "InvalidRequestException") {
		t.Fatalf("get-secret-value of a deleted secret: %s", stderr)
	}
	cli.run("restore-secret", "--secret-id", "cli/del")
	if got := cli.run("get-secret-value", "--secret-id", "cli/del"); got["SecretString"] != "kept" {
		t.Fatal("restored secret lost its value")
	}
	if stderr := cli.fail("describe-secret", "--secret-id", "cli/none"); !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("describe-secret of an unknown secret: %s", stderr)
	}
}

func sameStrings(v any, want ...string) bool {
	items, _ := v.([]any)
	var got []string
	for _, it := range items {
		s, _ := it.(string)
		got = append(got, s)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	return slices.Equal(got, want)
}
