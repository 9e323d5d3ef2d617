package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxBootstrapBytes is the size budget of each function binary.
const maxBootstrapBytes = 12 << 20

// TestBuildTargetsWriteArm64Bootstrap builds every function exactly as
// `sam build` does (make build-<LogicalId> ARTIFACTS_DIR=…) and inspects what
// would be uploaded. The first run compiles the Datadog client for
// linux/arm64, which takes minutes; later runs hit the build cache.
func TestBuildTargetsWriteArm64Bootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function for linux/arm64; skipped with -short")
	}
	if _, err := lookPath("make"); err != nil {
		t.Skip("make not on PATH")
	}
	tpl := loadTemplate(t)
	for _, id := range tpl.Functions() {
		// Not parallel: one build at a time keeps memory bounded.
		t.Run(id, func(t *testing.T) {
			dir := t.TempDir()
			out, err := runIn(repoRoot, "make", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR="+dir)
			if err != nil {
				t.Fatalf("make build-%s: %v\n%s", id, err, out)
			}
			path := filepath.Join(dir, "bootstrap")
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
