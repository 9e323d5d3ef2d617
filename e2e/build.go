package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Lambda build flags, as the Makefile's LAMBDA_BUILD passes them.
var lambdaBuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// BuildFunction builds one function with the Makefile's build-<LogicalId>
// target (the one `sam build` runs) for linux/goarch, and returns the path of
// the bootstrap it wrote into dir.
func BuildFunction(ctx context.Context, root, logicalID, goarch, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root,
		"build-"+logicalID, "ARTIFACTS_DIR="+dir, "LAMBDA_GOARCH="+goarch)
	if err := run(cmd); err != nil {
		return "", fmt.Errorf("building %s for linux/%s: %w", logicalID, goarch, err)
	}
	return filepath.Join(dir, "bootstrap"), nil
}

// BuildPackage builds any main package the way the Makefile builds the
// functions (same environment and flags), for programs that are not
// deployed, such as the hello-world baseline of the benchmark.
func BuildPackage(ctx context.Context, root, pkg, goarch, out string) error {
	args := append([]string{"build"}, lambdaBuildFlags...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", out, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if err := run(cmd); err != nil {
		return fmt.Errorf("building %s for linux/%s: %w", pkg, goarch, err)
	}
	return nil
}

// run runs cmd and puts its output into the error when it fails.
func run(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w\n%s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
