package busemu

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/peer"
	"github.com/ddconn/ddconn/internal/testkit"
)

// conformanceCase is one case of testdata/conformance.json.
type conformanceCase struct {
	Name          string           `json:"name"`
	Evidence      string           `json:"evidence"`
	Target        string           `json:"target"`
	Request       map[string]any   `json:"request"`
	Entries       []map[string]any `json:"entries"`
	Repeat        int              `json:"repeat"`
	Status        int              `json:"status"`
	ErrorType     string           `json:"errorType"`
	Codes         []string         `json:"codes"`
	Recorded      int              `json:"recorded"`
	Dropped       int              `json:"dropped"`
	MotoDeviation string           `json:"motoDeviation"`
}

// conformanceBus is the custom bus both peers have.
const conformanceBus = "conformance"

// subject is an endpoint the table runs against; bus is set for busemu only.
type subject struct {
	name     string
	endpoint string
	bus      *Bus
}

func TestConformance(t *testing.T) {
	cases := testkit.LoadCases[conformanceCase](t, "testdata/conformance.json")
	t.Run("busemu", func(t *testing.T) {
		t.Parallel()
		b, err := New(Options{Buses: []string{conformanceBus}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(b)
		defer srv.Close()
		runConformance(t, subject{name: "busemu", endpoint: srv.URL, bus: b}, cases)
	})
	t.Run("moto", func(t *testing.T) {
		t.Parallel()
		endpoint := peer.Moto(t)
		if status, out := postJSON(t, endpoint, "AWSEvents.CreateEventBus", map[string]any{"Name": conformanceBus}); status != http.StatusOK {
			t.Fatalf("CreateEventBus on moto: %d %v", status, out)
		}
		runConformance(t, subject{name: "moto", endpoint: endpoint}, cases)
	})
}

// runConformance runs every case against p. BUSEMU_CONFORMANCE_ALL=1 also
// runs the known moto deviations against moto, to check they still fail
// there.
func runConformance(t *testing.T, p subject, cases []conformanceCase) {
	runAll := os.Getenv("BUSEMU_CONFORMANCE_ALL") == "1"
	name := func(c conformanceCase) string { return c.Name }
	skip := func(c conformanceCase) string {
		if p.bus == nil && c.MotoDeviation != "" && !runAll {
			return "known moto deviation: " + c.MotoDeviation
		}
		return ""
	}
	testkit.RunCases(t, p.name, cases, name, skip, func(t *testing.T, _ int, c conformanceCase) { runCase(t, p, c) })
}

func runCase(t *testing.T, p subject, c conformanceCase) {
	target, body := c.Target, c.Request
	if target == "" {
		target = putEventsTarget
	}
	if body == nil {
		body = map[string]any{"Entries": expandEntries(t, c)}
	}
	var before, droppedBefore int
	if p.bus != nil {
		before, droppedBefore = len(p.bus.Events()), len(p.bus.Dropped())
	}
	status, out := postJSON(t, p.endpoint, target, body)
	if status != c.Status {
		t.Fatalf("HTTP %d %v, want %d", status, out, c.Status)
	}
	if c.ErrorType != "" {
		if got, _ := out["__type"].(string); testkit.AWSErrorCode(got) != c.ErrorType {
			t.Fatalf("error type %q (%v), want %s", got, out, c.ErrorType)
		}
	} else {
		checkEntryCodes(t, out, c.Codes)
	}
	if p.bus != nil {
		if got := len(p.bus.Events()) - before; got != c.Recorded {
			t.Errorf("busemu recorded %d events, want %d", got, c.Recorded)
		}
		if got := len(p.bus.Dropped()) - droppedBefore; got != c.Dropped {
			t.Errorf("busemu dropped %d events, want %d", got, c.Dropped)
		}
	}
}

// checkEntryCodes compares a PutEvents answer with the expected per-entry
// codes ("" = accepted).
func checkEntryCodes(t *testing.T, out map[string]any, want []string) {
	t.Helper()
	entries, _ := out["Entries"].([]any)
	if len(entries) != len(want) {
		t.Fatalf("%d result entries (%v), want %d", len(entries), out, len(want))
	}
	failed := 0
	for i, e := range entries {
		entry, _ := e.(map[string]any)
		code, _ := entry["ErrorCode"].(string)
		id, _ := entry["EventId"].(string)
		if code != want[i] || (want[i] == "" && id == "") {
			t.Errorf("entry %d = %v, want code %q", i, entry, want[i])
		}
		if want[i] != "" {
			failed++
		}
	}
	if got, _ := out["FailedEntryCount"].(float64); int(got) != failed {
		t.Errorf("FailedEntryCount = %v, want %d", out["FailedEntryCount"], failed)
	}
}

// expandEntries applies $detailSize, ${bus} and repeat.
func expandEntries(t *testing.T, c conformanceCase) []map[string]any {
	t.Helper()
	var out []map[string]any
	for range max(c.Repeat, 1) {
		for _, e := range c.Entries {
			entry := map[string]any{}
			for k, v := range e {
				if s, ok := v.(string); ok {
					v = strings.ReplaceAll(s, "${bus}", conformanceBus)
				}
				entry[k] = v
			}
			if size, ok := entry["$detailSize"].(float64); ok {
				delete(entry, "$detailSize")
				entry["Detail"] = detailForSize(t, entry, int(size))
			}
			out = append(out, entry)
		}
	}
	return out
}

// detailForSize returns a JSON-object Detail that makes entry count size bytes.
func detailForSize(t *testing.T, entry map[string]any, size int) string {
	t.Helper()
	source, _ := entry["Source"].(string)
	detailType, _ := entry["DetailType"].(string)
	const frame = len(`{"pad":""}`)
	pad := size - len(source) - len(detailType) - frame
	if pad < 0 {
		t.Fatalf("size %d is too small", size)
	}
	return `{"pad":"` + strings.Repeat("x", pad) + `"}`
}

// postJSON sends one EventBridge request for the operation target.
func postJSON(t *testing.T, endpoint, target string, input any) (int, map[string]any) {
	t.Helper()
	return testkit.PostAWSJSON(t, endpoint, "events", target, input)
}
