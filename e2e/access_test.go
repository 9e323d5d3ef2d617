//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// The access policy of TestTeamsThroughTheShippedBinaries, and its callers.
const (
	policySecret = "ddconn/access-policy"
	e2ePolicy    = `{"administrators": {"principals": ["arn:aws:iam::` + AccountID + `:role/platform-admin"]},
 "teams": {"team-a": {"principals": ["arn:aws:iam::` + AccountID + `:role/team-a-*"]},
           "team-b": {"principals": ["arn:aws:iam::` + AccountID + `:role/team-b-*"]}}}`
	adminARN = "arn:aws:iam::" + AccountID + ":role/platform-admin"
	teamAARN = "arn:aws:sts::" + AccountID + ":assumed-role/team-a-ci/build-42"
	teamBARN = "arn:aws:sts::" + AccountID + ":assumed-role/team-b-deploy/release"
)

// TestTeamsThroughTheShippedBinaries runs the access policy through the
// Lambda binaries under the RIE, with the template's environment: the
// policy is read from its secret; team-b's connection is invisible to
// team-a's caller on every function (404, an empty list) while team-b's
// own caller uses it; a member may not move it to another team (403);
// and the manage function's log holds the audit records.
func TestTeamsThroughTheShippedBinaries(t *testing.T) {
	st := newStack(t, func(o *StackOptions) { o.AccessPolicySecret = policySecret })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := verifier(ctx, t, st)
	if _, err := store.Create(ctx, secretstore.CreateInput{Name: policySecret, Value: e2ePolicy}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{ddsim.DemoAPIKey, ddsim.DemoAppKey}
	as := func(arn, id, route, path string, body []byte, want int) HTTPResponse {
		t.Helper()
		resp, err := InvokeHTTPAs(ctx, st.Functions[id], arn, route, path, body)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		assertNoSecrets(t, route, resp.Body, secrets)
		if resp.Status != want {
			t.Fatalf("%s %s as %s answered %d, want %d: %s", route, path, arn, resp.Status, want, resp.Body)
		}
		return resp
	}

	body, _ := json.Marshal(map[string]any{"name": "billing", "team": "team-b", "credentials": map[string]string{
		"url": "https://api.datadoghq.com", "apiKey": ddsim.DemoAPIKey, "applicationKey": ddsim.DemoAppKey}})
	as(teamAARN, "CreateFunction", "POST /connections", "/connections", body, http.StatusForbidden)
	as(teamBARN, "CreateFunction", "POST /connections", "/connections", body, http.StatusCreated)

	as(teamAARN, "ManageFunction", "GET /connections/{name}", "/connections/billing", nil, http.StatusNotFound)
	as(teamAARN, "ValidateFunction", "POST /connections/{name}/validate", "/connections/billing/validate", nil, http.StatusNotFound)
	as(teamAARN, "ManageFunction", "DELETE /connections/{name}", "/connections/billing", nil, http.StatusNotFound)
	list := as(teamAARN, "ManageFunction", "GET /connections", "/connections", nil, http.StatusOK)
	if strings.Contains(string(list.Body), "billing") {
		t.Fatalf("team-a's list shows team-b's connection: %s", list.Body)
	}

	got := as(teamBARN, "ManageFunction", "GET /connections/{name}", "/connections/billing", nil, http.StatusOK)
	var conn struct{ Team string }
	if decode(t, got, &conn); conn.Team != "team-b" {
		t.Fatalf("the connection's team is %q, want team-b", conn.Team)
	}
	as(teamBARN, "ValidateFunction", "POST /connections/{name}/validate", "/connections/billing/validate", nil, http.StatusOK)
	as(teamBARN, "ManageFunction", "PATCH /connections/{name}", "/connections/billing", []byte(`{"team":"team-a"}`), http.StatusForbidden)
	as(adminARN, "ManageFunction", "PATCH /connections/{name}", "/connections/billing", []byte(`{"team":"team-a"}`), http.StatusOK)
	as(teamAARN, "ManageFunction", "GET /connections/{name}", "/connections/billing", nil, http.StatusOK)

	out, err := os.ReadFile(filepath.Join(st.LogDir, "ManageFunction.log"))
	if err != nil {
		t.Fatal(err)
	}
	var refused, allowed bool
	for _, line := range strings.Split(string(out), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["audit"] != true {
			continue
		}
		switch {
		case rec["outcome"] == "refused" && rec["principal"] == "arn:aws:iam::"+AccountID+":role/team-a-ci" && rec["session"] == "build-42":
			refused = true
		case rec["outcome"] == "allowed" && rec["action"] == "PATCH /connections/{name}" && rec["admin"] == true:
			allowed = true
		}
	}
	if !refused || !allowed {
		t.Fatalf("the manage function's log lacks the audit records (refused %v, allowed %v)", refused, allowed)
	}
	assertLogsHoldNoSecrets(t, st, secrets)
}
