package deploy

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/testkit"
)

// maxBootstrapBytes is the size budget of each function binary.
const maxBootstrapBytes = 12 << 20

// TestBuildTargetsWriteArm64Bootstrap inspects every function as `sam
// build` builds it (make build-<LogicalId> ARTIFACTS_DIR=…): the copies
// `make bootstraps` built when the Makefile runs the tests, else copies it
// builds itself.
func TestBuildTargetsWriteArm64Bootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function for linux/arm64; skipped with -short")
	}
	tpl := loadTemplate(t)
	for _, id := range tpl.Functions() {
		// Not parallel: one build at a time keeps memory bounded.
		t.Run(id, func(t *testing.T) {
			path := arm64Bootstrap(t, id)
			problems, err := bootstrapProblems(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
			if fi, err := os.Stat(path); err == nil {
				t.Logf("bootstrap %.1f MB", float64(fi.Size())/(1<<20))
			}
		})
	}
}

// arm64Bootstrap returns a function's linux/arm64 bootstrap. Under the
// Makefile (testkit.BootstrapsEnv set) it is the one `make bootstraps`
// built before go test started. Run by hand, the test builds it with make
// build-<LogicalId>; the first such build compiles the Datadog client for
// arm64, which takes minutes, so the build is given what is left of go
// test's timeout and, when that is not enough, the test is skipped with the
// command that builds it outside the timeout.
func arm64Bootstrap(t *testing.T, id string) string {
	t.Helper()
	path, err := testkit.Bootstrap(id, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if path != "" {
		return path
	}
	if _, err := lookPath("make"); err != nil {
		t.Skip("make not on PATH")
	}
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	dir := t.TempDir()
	t.Logf("building %s for linux/arm64 (make build-%s); a cold build takes minutes", id, id)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR="+dir)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Skipf("building %s did not finish within go test's timeout: run `%s`, then `%s=$PWD/build/bootstraps go test ./deploy`",
			id, testkit.MakeBootstraps("arm64"), testkit.BootstrapsEnv)
	}
	if err != nil {
		t.Fatalf("make build-%s: %v\n%s", id, err, out)
	}
	t.Logf("built %s in %s", id, time.Since(start).Round(time.Second))
	return filepath.Join(dir, "bootstrap")
}

// TestBootstrapsTargetBuildsWhatTheTestsRead asks make what
// bootstraps-<GOARCH> would run (make -n: nothing is built) and checks that
// it builds every function with its build-<LogicalId> target into the
// folder testkit.Bootstrap reads.
func TestBootstrapsTargetBuildsWhatTheTestsRead(t *testing.T) {
	if _, err := lookPath("make"); err != nil {
		t.Skip("make not on PATH")
	}
	dir := t.TempDir()
	t.Setenv(testkit.BootstrapsEnv, dir)
	for _, goarch := range []string{"arm64", "amd64"} {
		t.Run(goarch, func(t *testing.T) {
			out, err := runIn(repoRoot, "make", "-n", "--no-print-directory", "bootstraps-"+goarch, "BOOTSTRAPS="+dir)
			if err != nil {
				t.Fatalf("make -n bootstraps-%s: %v\n%s", goarch, err, out)
			}
			for id, folder := range makefileFunctions(t) {
				want := filepath.Join(dir, goarch, id, "bootstrap")
				line := "GOOS=linux GOARCH=" + goarch + ` CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags="-s -w" -o ` + want + " ./functions/" + folder
				if !strings.Contains(out, line) {
					t.Errorf("make bootstraps-%s does not run\n\t%s\nit runs:\n%s", goarch, line, out)
				}
				if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(want, nil, 0o755); err != nil {
					t.Fatal(err)
				}
				if got, err := testkit.Bootstrap(id, goarch); err != nil || got != want {
					t.Errorf("testkit.Bootstrap(%s, %s) = %q, %v; want %q", id, goarch, got, err, want)
				}
			}
		})
	}
}

// TestBootstrapProblemsCatchesWrongBuilds builds the small hello-world
// function the wrong ways and checks each is caught.
func TestBootstrapProblemsCatchesWrongBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a small program three times; skipped with -short")
	}
	lambdaFlags := []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}
	tests := []struct {
		name    string
		goarch  string
		flags   []string
		problem string // "" = none
	}{
		{"as the Makefile builds", "arm64", lambdaFlags, ""},
		{"for amd64", "amd64", lambdaFlags, "EM_X86_64"},
		{"not stripped", "arm64", []string{"-tags", "lambda.norpc", "-trimpath"}, "section .symtab"},
		{"without lambda.norpc", "arm64", []string{"-trimpath", "-ldflags=-s -w"}, `-tags=""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "bootstrap")
			cmd := exec.Command("go", append(append([]string{"build"}, tt.flags...), "-o", out, "./e2e/testdata/hello")...)
			cmd.Dir = repoRoot
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+tt.goarch, "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
			problems, err := bootstrapProblems(out)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(problems, "; ")
			switch {
			case tt.problem == "" && got != "":
				t.Errorf("problems = %q, want none", got)
			case tt.problem != "" && !strings.Contains(got, tt.problem):
				t.Errorf("problems = %q, want one mentioning %q", got, tt.problem)
			}
		})
	}
}

// bootstrapProblems lists what is wrong with a built function: it must be a
// static linux/arm64 executable, stripped, built with the Lambda flags and
// within the size budget.
func bootstrapProblems(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("no bootstrap: %w", err)
	}
	var problems []string
	if st.Mode()&0o111 == 0 {
		problems = append(problems, fmt.Sprintf("bootstrap is not executable (mode %v)", st.Mode()))
	}
	if st.Size() > maxBootstrapBytes {
		problems = append(problems, fmt.Sprintf("bootstrap is %.1f MB, budget %d MB", float64(st.Size())/(1<<20), maxBootstrapBytes>>20))
	}

	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bootstrap is not an ELF file: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		problems = append(problems, fmt.Sprintf("bootstrap is %v %v %v, want EM_AARCH64 ELFCLASS64 ET_EXEC", f.Machine, f.Class, f.Type))
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			problems = append(problems, "bootstrap is dynamically linked; want CGO_ENABLED=0")
		}
	}
	// -ldflags="-s -w": no symbol table, no DWARF. (Go does not record
	// -ldflags in the build info of a -trimpath build, so look at the file.)
	for _, sec := range f.Sections {
		if sec.Name == ".symtab" || strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			problems = append(problems, "bootstrap has section "+sec.Name+`; want it stripped (-ldflags="-s -w")`)
		}
	}

	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading Go build info: %w", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for _, kv := range [][2]string{{"GOOS", "linux"}, {"GOARCH", "arm64"}, {"CGO_ENABLED", "0"}, {"-tags", "lambda.norpc"}, {"-trimpath", "true"}} {
		if settings[kv[0]] != kv[1] {
			problems = append(problems, fmt.Sprintf("built with %s=%q, want %q", kv[0], settings[kv[0]], kv[1]))
		}
	}
	return problems, nil
}
