package rotation_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// TestFullRotations rotates one connection three times through the
// emulator, against a simulator that takes 300 ms to activate new keys, and
// checks after each rotation what consumers depend on.
func TestFullRotations(t *testing.T) {
	st := newStack(t, stackOptions{activationDelay: 300 * time.Millisecond})
	scopes := []string{"dashboards_read", "metrics_read", "user_app_keys"}
	c := st.newConnection("prod", connOptions{scopes: scopes, serviceAcc: true})
	generations := []secretkind.Document{st.doc(c, secretstore.Current)}

	// What the API reports after each step: the next step, then idle.
	wantProgress := []string{
		rotationstate.StepCreate + " -> " + rotationstate.StepSet,
		rotationstate.StepSet + " -> " + rotationstate.StepTest,
		rotationstate.StepTest + " -> " + rotationstate.StepFinish,
		rotationstate.StepFinish + " -> ",
	}
	for n := 1; n <= 3; n++ {
		token := st.rotate(c)
		if got := st.takeProgress(); !slices.Equal(got, wantProgress) {
			t.Errorf("rotation %d: progress %q, want %q", n, got, wantProgress)
		}
		cur, prev := st.doc(c, secretstore.Current), st.doc(c, secretstore.Previous)
		generations = append(generations, cur)

		if sec := st.describe(c); !slices.Contains(sec.Versions[token], secretstore.Current) {
			t.Fatalf("rotation %d: version %s is not AWSCURRENT: %v", n, token, sec.Versions)
		}
		if !st.authenticates(cur) {
			t.Errorf("rotation %d: the AWSCURRENT key does not authenticate", n)
		}
		if prev.KeyID != generations[n-1].KeyID || !st.authenticates(prev) {
			t.Errorf("rotation %d: AWSPREVIOUS is not the previous generation, or does not authenticate", n)
		}
		if n >= 2 && st.authenticates(generations[n-2]) {
			t.Errorf("rotation %d: generation %d still authenticates; want it revoked", n, n-2)
		}
		keys := st.ownerKeys(c)
		if len(keys) > 2 {
			t.Errorf("rotation %d: %d keys exist, want at most 2", n, len(keys))
		}
		newKey := keyByID(t, keys, cur.KeyID)
		if !slices.Equal(newKey.Scopes, scopes) || !slices.Equal(cur.Scopes, scopes) {
			t.Errorf("rotation %d: new key scopes %v (document %v), want %v", n, newKey.Scopes, cur.Scopes, scopes)
		}
		if want := secretkind.ConnectionName("prod").DatadogKeyName(st.scope(c), token); newKey.Name != want {
			t.Errorf("rotation %d: new key is named %q, want %q", n, newKey.Name, want)
		}
		if cur.OwnerID != c.owner || !cur.OwnerIsServiceAccount || cur.URL != siteURL || cur.APIKey != st.apiKey {
			t.Errorf("rotation %d: the document changed more than its application key", n)
		}
		state := rotationstate.StateOf(st.describe(c))
		if state.CurrentKeyID != cur.KeyID || state.PreviousKeyID != prev.KeyID ||
			state.LastError != "" || state.InProgress || state.LastRotatedAt == nil || !state.Enabled {
			t.Errorf("rotation %d: state %+v", n, state)
		}
	}
	if v := st.takeViolations(); len(v) > 0 {
		t.Errorf("AWSCURRENT stopped authenticating: %v", v)
	}
	if waits := assertStepLogs(t, st.logs.String(), 3); waits == 0 {
		t.Error("testSecret never waited for a key to activate; the activation delay was not exercised")
	}
	assertMetrics(t, st.metrics.String(), 3)
}

func keyByID(t *testing.T, keys []ddsim.KeyInfo, id string) ddsim.KeyInfo {
	t.Helper()
	for _, k := range keys {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("key %s does not exist", id)
	return ddsim.KeyInfo{}
}

// assertStepLogs checks one "rotation step" record per step and rotation,
// with the fields operators need. It returns how many testSecret steps had
// to call validate_keys more than once.
func assertStepLogs(t *testing.T, logs string, rotations int) (waits int) {
	t.Helper()
	perStep := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		if rec["msg"] != "rotation step" {
			continue
		}
		for _, field := range []string{"secret_arn", "step", "token", "outcome", "duration_ms", "new_key_id"} {
			if _, ok := rec[field]; !ok {
				t.Errorf("step record without %s: %v", field, rec)
			}
		}
		step, _ := rec["step"].(string)
		perStep[step]++
		if attempts, _ := rec["validate_attempts"].(float64); attempts > 1 {
			waits++
		}
	}
	for _, step := range rotationstate.Steps {
		if perStep[step] != rotations {
			t.Errorf("%d %s records, want %d", perStep[step], step, rotations)
		}
	}
	return waits
}

// assertMetrics checks the EMF records: one success per step and rotation,
// and a revocation for every rotation after the first.
func assertMetrics(t *testing.T, out string, rotations int) {
	t.Helper()
	succeeded := map[string]int{}
	revoked := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			AWS struct {
				CloudWatchMetrics []struct{ Namespace string } `json:"CloudWatchMetrics"`
			} `json:"_aws"`
			Step                  string
			RotationStepSucceeded int
			RotationStepFailed    int
			KeysRevoked           int
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("metric line is not JSON: %v: %s", err, line)
		}
		if len(rec.AWS.CloudWatchMetrics) != 1 || rec.AWS.CloudWatchMetrics[0].Namespace != "ddconn" {
			t.Errorf("not an EMF record of namespace ddconn: %s", line)
		}
		succeeded[rec.Step] += rec.RotationStepSucceeded
		revoked += rec.KeysRevoked
		if rec.RotationStepFailed != 0 {
			t.Errorf("unexpected failure metric: %s", line)
		}
	}
	for _, step := range rotationstate.Steps {
		if succeeded[step] != rotations {
			t.Errorf("RotationStepSucceeded{Step=%s} = %d, want %d", step, succeeded[step], rotations)
		}
	}
	if revoked != rotations-1 {
		t.Errorf("KeysRevoked = %d, want %d", revoked, rotations-1)
	}
}

// TestAStepCutShortStillRecordsItsFailure: a step whose context has run
// out (the rotate function ends a step before the invocation's deadline)
// fails, and its failure is still written on the secret, for the API to
// show, whatever state the step's context is in.
func TestAStepCutShortStillRecordsItsFailure(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.newConnection("cut", connOptions{scopes: []string{"user_app_keys"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := rotation.Event{Step: rotationstate.StepCreate, SecretID: c.arn, ClientRequestToken: "00000000-0000-4000-8000-00000000c0de"}
	if err := st.rot.Handle(ctx, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("Handle with a spent context = %v, want context.Canceled", err)
	}
	if got := st.describe(c).Tags[secretkind.TagLastError]; !strings.Contains(got, "createSecret of "+c.arn) {
		t.Fatalf("last error %q, want the step's failure recorded", got)
	}
}
