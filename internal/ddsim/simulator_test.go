package ddsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
)

// TestConcurrentUse drives every kind of state change from several
// goroutines at once; run with -race it proves the locking.
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Options{RateLimit: 1000})
	const workers, rounds = 6, 5
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				name := fmt.Sprintf("w%d-r%d", w, r)
				res, resp, err := f.keys().CreateCurrentUserApplicationKey(f.as(f.adminKey), createKeyBody(name, nil))
				if resp == nil || resp.StatusCode != http.StatusCreated {
					errs <- fmt.Sprintf("%s: create failed: %v", name, err)
					continue
				}
				f.sim.Keys()
				f.sim.AddFault(Fault{PathPrefix: "/api/v2/nothing-matches"})
				if !f.sim.Authenticates(f.apiKey, res.Data.Attributes.GetKey()) {
					errs <- name + ": new key does not authenticate"
				}
				if resp, err := f.keys().DeleteCurrentUserApplicationKey(f.as(f.adminKey), res.Data.GetId()); resp == nil || resp.StatusCode != http.StatusNoContent {
					errs <- fmt.Sprintf("%s: delete failed: %v", name, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(f.sim.Keys()); n != 2 {
		t.Errorf("%d keys left, want the fixture's 2", n)
	}
}

// TestLogsCarryNoKeyMaterial runs a key lifecycle with logging on and checks
// that every record is JSON and no secret appears in any of them.
func TestLogsCarryNoKeyMaterial(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	secret, id := f.mustCreateKey(f.adminKey, "logged", nil)
	apiRes, _, _ := f.keys().CreateAPIKey(f.as(f.adminKey), createAPIKeyBody("logged-api"))
	f.keys().DeleteCurrentUserApplicationKey(f.as(secret), id)
	f.keys().DeleteAPIKey(f.as(f.adminKey), apiRes.Data.GetId())
	f.raw(http.MethodGet, "/api/v2/validate_keys", map[string]string{"DD-API-KEY": f.apiKey, "DD-APPLICATION-KEY": "wrong"}, "")

	secrets := []string{secret, apiRes.Data.Attributes.GetKey(), f.apiKey, f.adminKey, f.robotKey}
	text := logs.String()
	records := 0
	scanner := bufio.NewScanner(strings.NewReader(text))
	for scanner.Scan() {
		line := scanner.Text()
		records++
		if !json.Valid([]byte(line)) {
			t.Errorf("log record %d is not JSON", records)
		}
	}
	testkit.AssertNoKeyMaterial(t, text, secrets...)
	if records < 5 || !strings.Contains(text, `"msg":"application key created"`) {
		t.Errorf("%d log records, missing the expected ones", records)
	}
}
