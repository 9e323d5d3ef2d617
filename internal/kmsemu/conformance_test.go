package kmsemu

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/ddconn/ddconn/internal/peer"
	"github.com/ddconn/ddconn/internal/testkit"
)

// conformanceCase is one behaviour case of testdata/conformance.json.
type conformanceCase struct {
	Name          string            `json:"name"`
	Steps         []conformanceStep `json:"steps"`
	MotoDeviation string            `json:"motoDeviation"`
}

type conformanceStep struct {
	Op     string            `json:"op"`
	Input  map[string]any    `json:"input"`
	Want   map[string]any    `json:"want"`
	Absent []string          `json:"absent"`
	Error  string            `json:"error"`
	Save   map[string]string `json:"save"` // variable → top-level output key
	// SaveKey saves KeyMetadata.KeyId and KeyMetadata.Arn as ${key} and ${keyarn}.
	SaveKey bool `json:"saveKey"`
	// Count checks the number of Grants of a ListGrants answer.
	Count *int `json:"count"`
}

// TestConformance runs the table against the emulator and, when
// moto_server is installed, against moto (internal/peer skips otherwise).
func TestConformance(t *testing.T) {
	cases := testkit.LoadCases[conformanceCase](t, "testdata/conformance.json")
	t.Run("emulator", func(t *testing.T) {
		t.Parallel()
		emu, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(emu)
		defer srv.Close()
		runConformance(t, "emulator", srv.URL, false, cases)
	})
	t.Run("moto", func(t *testing.T) {
		t.Parallel()
		runConformance(t, "moto", peer.Moto(t), true, cases)
	})
}

// runConformance runs every case; KMSEMU_CONFORMANCE_ALL=1 also runs the
// known moto deviations against moto, to check they still fail there.
func runConformance(t *testing.T, subject, endpoint string, isMoto bool, cases []conformanceCase) {
	runAll := os.Getenv("KMSEMU_CONFORMANCE_ALL") == "1"
	skip := func(c conformanceCase) string {
		if isMoto && c.MotoDeviation != "" && !runAll {
			return "known moto deviation: " + c.MotoDeviation
		}
		return ""
	}
	testkit.RunCases(t, subject, cases, func(c conformanceCase) string { return c.Name }, skip,
		func(t *testing.T, _ int, c conformanceCase) {
			vars := map[string]string{}
			for j, step := range c.Steps {
				runStep(t, endpoint, j, step, vars)
			}
		})
}

func runStep(t *testing.T, endpoint string, n int, step conformanceStep, vars map[string]string) {
	t.Helper()
	status, out := testkit.PostAWSJSON(t, endpoint, "kms", TargetPrefix+step.Op, testkit.Expand(step.Input, vars, false))
	where := fmt.Sprintf("step %d (%s)", n+1, step.Op)
	if step.Error != "" {
		if got, _ := out["__type"].(string); status < 400 || testkit.AWSErrorCode(got) != step.Error {
			t.Fatalf("%s: answer %d %v, want error %s", where, status, out, step.Error)
		}
		return
	}
	if status != http.StatusOK {
		t.Fatalf("%s: answer %d %v, want 200", where, status, out)
	}
	if want := testkit.Expand(step.Want, vars, true); want != nil {
		if err := testkit.Match(want, any(out)); err != nil {
			t.Fatalf("%s: %v\nanswer: %v", where, err, out)
		}
	}
	for _, k := range step.Absent {
		if v, ok := out[k]; ok && v != nil {
			t.Fatalf("%s: %s = %v, want it absent", where, k, v)
		}
	}
	if step.Count != nil {
		if grants, _ := out["Grants"].([]any); len(grants) != *step.Count {
			t.Fatalf("%s: %d grants, want %d: %v", where, len(grants), *step.Count, out)
		}
	}
	for name, k := range step.Save {
		s, _ := out[k].(string)
		vars[name] = s
	}
	if step.SaveKey {
		md, _ := out["KeyMetadata"].(map[string]any)
		vars["key"], _ = md["KeyId"].(string)
		vars["keyarn"], _ = md["Arn"].(string)
	}
}
