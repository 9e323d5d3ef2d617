package smemu

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

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
	Op      string            `json:"op"`
	Input   map[string]any    `json:"input"`
	Want    map[string]any    `json:"want"`
	Absent  []string          `json:"absent"`
	Error   string            `json:"error"`
	Message string            `json:"message"`
	Status  int               `json:"status"` // expected HTTP status of an error, when checked
	Save    map[string]string `json:"save"`   // variable → top-level output key
}

// subject is an endpoint the conformance table runs against.
type subject struct {
	name     string
	endpoint string
	isMoto   bool
}

const conformanceLambda = "arn:aws:lambda:us-east-1:123456789012:function:conformance"

func TestConformance(t *testing.T) {
	cases := testkit.LoadCases[conformanceCase](t, "testdata/conformance.json")
	t.Run("emulator", func(t *testing.T) {
		t.Parallel()
		// Not started: rotations stay at their start, which is what the
		// table observes. The function exists but is never invoked.
		emu, err := New(Options{Invoker: Router{Routes: map[string]Invoker{
			conformanceLambda: InvokerFunc(func(context.Context, string, []byte) error { return nil }),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		defer emu.Close()
		srv := httptest.NewServer(emu)
		defer srv.Close()
		runConformance(t, subject{name: "emulator", endpoint: srv.URL}, cases)
	})
	t.Run("moto", func(t *testing.T) {
		t.Parallel()
		endpoint := peer.Moto(t)
		runConformance(t, subject{name: "moto", endpoint: endpoint, isMoto: true}, cases)
	})
}

// runConformance runs every case against p and logs a summary line.
// SMEMU_CONFORMANCE_ALL=1 also runs the known moto deviations against moto,
// to check they still fail there.
func runConformance(t *testing.T, p subject, cases []conformanceCase) {
	run := fmt.Sprintf("conf%d", time.Now().UnixNano()%1_000_000_000)
	runAll := os.Getenv("SMEMU_CONFORMANCE_ALL") == "1"
	name := func(c conformanceCase) string { return c.Name }
	skip := func(c conformanceCase) string {
		if p.isMoto && c.MotoDeviation != "" && !runAll {
			return "known moto deviation: " + c.MotoDeviation
		}
		return ""
	}
	testkit.RunCases(t, p.name, cases, name, skip, func(t *testing.T, i int, c conformanceCase) {
		vars := map[string]string{"name": fmt.Sprintf("%s/%02d", run, i), "lambda": conformanceLambda}
		for n := 1; n <= 9; n++ {
			vars[fmt.Sprintf("tok%d", n)] = newUUID()
		}
		for j, step := range c.Steps {
			runStep(t, p, j, step, vars)
		}
	})
}

func runStep(t *testing.T, p subject, n int, step conformanceStep, vars map[string]string) {
	t.Helper()
	input := testkit.Expand(step.Input, vars, false)
	status, out := postJSON(t, p.endpoint, step.Op, input)
	where := fmt.Sprintf("step %d (%s)", n+1, step.Op)
	if step.Error != "" {
		if got, _ := out["__type"].(string); status < 400 || testkit.AWSErrorCode(got) != step.Error {
			t.Fatalf("%s: answer %d %v, want error %s", where, status, redacted(out), step.Error)
		}
		if step.Status != 0 && status != step.Status {
			t.Fatalf("%s: HTTP %d, want %d", where, status, step.Status)
		}
		if want := testkit.ExpandString(step.Message, vars, false); want != "" && messageOf(out) != want {
			t.Fatalf("%s: message %q, want %q", where, messageOf(out), want)
		}
		return
	}
	if status != http.StatusOK {
		t.Fatalf("%s: answer %d %v, want 200", where, status, redacted(out))
	}
	if want := testkit.Expand(step.Want, vars, true); want != nil {
		if err := testkit.Match(want, any(out)); err != nil {
			t.Fatalf("%s: %v\nanswer: %v", where, err, redacted(out))
		}
	}
	for _, key := range step.Absent {
		if v, ok := out[key]; ok && v != nil {
			t.Fatalf("%s: %s = %v, want it absent", where, key, v)
		}
	}
	for name, key := range step.Save {
		s, _ := out[key].(string)
		vars[name] = s
	}
}

// redacted hides secret values from failure output.
func redacted(out map[string]any) map[string]any {
	c := make(map[string]any, len(out))
	for k, v := range out {
		if k == "SecretString" || k == "SecretBinary" {
			v = "<redacted>"
		}
		c[k] = v
	}
	return c
}

func messageOf(out map[string]any) string {
	for _, k := range []string{"Message", "message"} {
		if s, ok := out[k].(string); ok {
			return s
		}
	}
	return ""
}

// postJSON sends one Secrets Manager request for the operation op.
func postJSON(t *testing.T, endpoint, op string, input any) (int, map[string]any) {
	t.Helper()
	return testkit.PostAWSJSON(t, endpoint, "secretsmanager", "secretsmanager."+op, input)
}
