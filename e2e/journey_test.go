//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// The journey's connection.
const (
	connName = "prod"
	connPath = "/connections/" + connName
)

// TestJourney is a user's day one through the shipped binaries: create a
// connection, validate it, read it; turn rotation on and rotate, twice,
// through the manage function's API, with the emulator running the rotation
// steps in the rotate binary through its RIE endpoint; new credentials; the
// scheduled sweep; rotation off; delete.
func TestJourney(t *testing.T) {
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	store := verifier(ctx, t, st)
	secrets := []string{ddsim.DemoAPIKey, ddsim.DemoAppKey} // grows with each new key

	create := createBody(ddsim.DemoAPIKey, ddsim.DemoAppKey)
	resp := call(ctx, t, st, "CreateFunction", "POST /connections", "/connections", create, http.StatusCreated, secrets)
	var created struct {
		SecretARN string `json:"secretArn"`
		Valid     bool   `json:"valid"`
	}
	decode(t, resp, &created)
	if created.SecretARN == "" || !created.Valid {
		t.Fatalf("created connection: secretArn %q valid %v, want an ARN and valid", created.SecretARN, created.Valid)
	}
	arn := created.SecretARN

	resp = call(ctx, t, st, "ValidateFunction", "POST /connections/{name}/validate", connPath+"/validate", nil, http.StatusOK, secrets)
	var validation struct{ Valid bool }
	if decode(t, resp, &validation); !validation.Valid {
		t.Fatalf("validation = %s, want valid", resp.Body)
	}

	resp = call(ctx, t, st, "ManageFunction", "GET /connections/{name}", connPath, nil, http.StatusOK, secrets)
	if rot := rotationOf(t, resp); rot.Enabled {
		t.Fatalf("new connection has rotation enabled: %s", resp.Body)
	}

	enableRotation(ctx, t, st, store, arn, secrets)

	// The first rotation is held in createSecret (its PutSecretValue answers
	// a second late), so a second request meets it in progress and shares
	// it: 202 with the same version, resumed.
	st.Emulator.AddFault(smemu.Fault{Operation: "PutSecretValue", Delay: time.Second})
	before := currentDocument(ctx, t, store, arn)
	version := requestRotation(ctx, t, st, secrets)
	resp = call(ctx, t, st, "ManageFunction", rotateRoute, connPath+"/rotate", nil, http.StatusAccepted, secrets)
	var again struct {
		VersionID string `json:"versionId"`
		Resumed   bool   `json:"resumed"`
	}
	if decode(t, resp, &again); again.VersionID != version || !again.Resumed {
		t.Errorf("rotate during a rotation answered %s, want version %s resumed", resp.Body, version)
	}
	first := awaitRotation(ctx, t, st, store, arn, version, before)
	secrets = append(secrets, first.Key)
	if len(st.Emulator.Faults()) != 0 {
		t.Error("the rotation never called PutSecretValue: the conflict above was not tested against a running rotation")
	}
	if !st.Simulator.Authenticates(ddsim.DemoAPIKey, first.Key) {
		t.Error("the rotated-in application key (AWSCURRENT) does not authenticate at Datadog")
	}
	if !st.Simulator.Authenticates(ddsim.DemoAPIKey, ddsim.DemoAppKey) {
		t.Error("the replaced key (AWSPREVIOUS) no longer authenticates: consumers caching it would fail")
	}

	// Right after a rotation, rotate-now is refused until the minimum
	// interval has passed; then it starts the next one.
	resp = call(ctx, t, st, "ManageFunction", rotateRoute, connPath+"/rotate", nil, http.StatusConflict, secrets)
	if code := errorCode(t, resp); code != "rotation_too_soon" {
		t.Errorf("rotate right after a rotation: error code %q, want rotation_too_soon", code)
	}
	time.Sleep(MinRotateInterval)

	// The policy set above (next-rotation) revokes a replaced key at the
	// next rotation.
	version = requestRotation(ctx, t, st, secrets)
	second := awaitRotation(ctx, t, st, store, arn, version, first)
	secrets = append(secrets, second.Key)
	for _, c := range []struct {
		what string
		key  string
		want bool
	}{
		{"the current key", second.Key, true},
		{"the previous key", first.Key, true},
		{"the key replaced two rotations ago", ddsim.DemoAppKey, false},
	} {
		if got := st.Simulator.Authenticates(ddsim.DemoAPIKey, c.key); got != c.want {
			t.Errorf("%s authenticates = %v, want %v", c.what, got, c.want)
		}
	}

	// Reads after rotation see the new key's connection, without the key.
	resp = call(ctx, t, st, "ManageFunction", "GET /connections/{name}", connPath, nil, http.StatusOK, secrets)
	assertRotated(t, rotationOf(t, resp), second.KeyID, first.KeyID)
	call(ctx, t, st, "ValidateFunction", "POST /connections/{name}/validate", connPath+"/validate", nil, http.StatusOK, secrets)

	sweep, err := ScheduledEvent()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := st.Functions["RotateFunction"].Invoke(ctx, sweep); err != nil {
		t.Errorf("scheduled sweep: %v", err)
	} else {
		assertNoSecrets(t, "sweep answer", out, secrets)
	}

	secrets = replaceCredentials(ctx, t, st, store, arn, secrets)

	resp = call(ctx, t, st, "ManageFunction", "DELETE /connections/{name}/rotation", connPath+"/rotation", nil, http.StatusOK, secrets)
	if rot := rotationOf(t, resp); rot.Enabled {
		t.Errorf("after DELETE …/rotation the connection says rotation is enabled: %s", resp.Body)
	}
	if sec := describe(ctx, t, store, arn); sec.RotationEnabled {
		t.Error("after DELETE …/rotation Secrets Manager still has rotation enabled")
	}

	// The rest of the manage routes, so their Secrets Manager calls are
	// recorded too.
	call(ctx, t, st, "ManageFunction", "GET /connections", "/connections", nil, http.StatusOK, secrets)
	call(ctx, t, st, "ManageFunction", "PATCH /connections/{name}", connPath, []byte(`{"description":"renamed in e2e"}`), http.StatusOK, secrets)
	call(ctx, t, st, "ManageFunction", "DELETE /connections/{name}", connPath, nil, http.StatusOK, secrets)
	call(ctx, t, st, "ManageFunction", "GET /connections/{name}", connPath, nil, http.StatusNotFound, secrets)

	assertCalled(t, st, "RotateFunction", "PutSecretValue", "UpdateSecretVersionStage")
	assertCalled(t, st, "ManageFunction", "RotateSecret", "CancelRotateSecret", "PutSecretValue")
	assertCallsAllowed(t, st)
	assertLogsHoldNoSecrets(t, st, secrets)
}

// The rotation settings the journey sets, and the route that rotates now.
const (
	rotationSettings = `{"schedule":"rate(30 days)","window":"2h","rotateImmediately":false,"revokePrevious":"next-rotation"}`
	rotateRoute      = "POST /connections/{name}/rotate"
)

// rotationOf decodes the rotation block of the API's connection object.
func rotationOf(t *testing.T, resp HTTPResponse) rotationstate.State {
	t.Helper()
	var conn struct{ Rotation rotationstate.State }
	decode(t, resp, &conn)
	return conn.Rotation
}

// enableRotation turns rotation on through the manage function, without
// rotating now: Secrets Manager then only tests the configuration, running
// testSecret in the rotate binary against a copy of the current value.
func enableRotation(ctx context.Context, t *testing.T, st *Stack, store *secretstore.Store, arn string, secrets []string) {
	t.Helper()
	before := currentDocument(ctx, t, store, arn)
	resp := call(ctx, t, st, "ManageFunction", "PUT /connections/{name}/rotation", connPath+"/rotation", []byte(rotationSettings), http.StatusOK, secrets)
	if rot := rotationOf(t, resp); !rot.Enabled || rot.Schedule != "rate(30 days)" || rot.Window != "2h" || rot.RevokePrevious != "next-rotation" {
		t.Errorf("PUT …/rotation answered rotation %+v, want enabled with the settings sent", rot)
	}
	waitIdle(ctx, t, st)

	sec := describe(ctx, t, store, arn)
	if !sec.RotationEnabled {
		t.Fatal("after PUT …/rotation Secrets Manager has rotation disabled")
	}
	// The ARN the manage function read from DDCONN_ROTATION_FUNCTION_ARN is
	// the one the emulator routes to the rotate binary's RIE.
	if sec.RotationLambdaARN != RotateFunctionARN {
		t.Errorf("rotation function = %q, want %q", sec.RotationLambdaARN, RotateFunctionARN)
	}
	if got := rotationstate.Schedule(sec.Rules); got != "rate(30 days)" || sec.Rules.Duration != "2h" {
		t.Errorf("rotation rules %+v, want rate(30 days) in a 2h window", sec.Rules)
	}
	if _, pending := sec.VersionWith(secretstore.Pending); pending {
		t.Error("AWSPENDING is still staged after the configuration test")
	}
	if after := currentDocument(ctx, t, store, arn); after.Key != before.Key {
		t.Error("PUT …/rotation with rotateImmediately false rotated the key")
	}
}

// requestRotation asks the manage function to rotate now and returns the
// version id of the rotation it started.
func requestRotation(ctx context.Context, t *testing.T, st *Stack, secrets []string) string {
	t.Helper()
	resp := call(ctx, t, st, "ManageFunction", rotateRoute, connPath+"/rotate", nil, http.StatusAccepted, secrets)
	var started struct {
		VersionID string `json:"versionId"`
	}
	if decode(t, resp, &started); started.VersionID == "" {
		t.Fatalf("rotate answered %s, want a versionId", resp.Body)
	}
	return started.VersionID
}

// awaitRotation waits for the rotation of version to end, checks that it
// replaced the application key of before and nothing else, and returns the
// new AWSCURRENT document.
func awaitRotation(ctx context.Context, t *testing.T, st *Stack, store *secretstore.Store, arn, version string, before secretkind.Document) secretkind.Document {
	t.Helper()
	waitIdle(ctx, t, st)
	sec := describe(ctx, t, store, arn)
	if !sec.RotationEnabled || sec.LastRotatedAt == nil {
		t.Fatalf("after rotating: RotationEnabled %v, LastRotatedAt %v; see the rotate function's log", sec.RotationEnabled, sec.LastRotatedAt)
	}
	if current, _ := sec.CurrentVersion(); current != version {
		t.Fatalf("AWSCURRENT is version %q, want %q, the one POST …/rotate answered", current, version)
	}
	if _, pending := sec.VersionWith(secretstore.Pending); pending {
		t.Error("AWSPENDING is still staged after the rotation")
	}
	after := currentDocument(ctx, t, store, arn)
	previous := document(ctx, t, store, arn, secretstore.Previous)
	if after.Key == before.Key || after.KeyID == before.KeyID {
		t.Fatal("AWSCURRENT holds the same application key after the rotation")
	}
	if previous.Key != before.Key {
		t.Error("AWSPREVIOUS does not hold the replaced application key")
	}
	if after.APIKey != before.APIKey || after.URL != before.URL || after.OwnerID != before.OwnerID {
		t.Error("the rotation changed more than the application key")
	}
	return after
}

// assertRotated checks the rotation block of a connection rotated from
// previousKeyID to currentKeyID with the journey's settings.
func assertRotated(t *testing.T, rot rotationstate.State, currentKeyID, previousKeyID string) {
	t.Helper()
	if !rot.Enabled || rot.Schedule != "rate(30 days)" || rot.Window != "2h" || rot.RevokePrevious != "next-rotation" {
		t.Errorf("rotation settings %+v, want enabled, rate(30 days), 2h, next-rotation", rot)
	}
	if rot.LastRotatedAt == nil || rot.NextRotationAt == nil || !rot.NextRotationAt.After(*rot.LastRotatedAt) {
		t.Errorf("lastRotatedAt %v, nextRotationAt %v: want both, the next after the last", rot.LastRotatedAt, rot.NextRotationAt)
	}
	if rot.LastError != "" {
		t.Errorf("lastError = %q after a successful rotation", rot.LastError)
	}
	if rot.CurrentKeyID != currentKeyID || rot.PreviousKeyID != previousKeyID {
		t.Errorf("key ids current %q previous %q, want %q and %q", rot.CurrentKeyID, rot.PreviousKeyID, currentKeyID, previousKeyID)
	}
}

// replaceCredentials gives the connection a newly minted application key
// through PATCH, and returns secrets with it added.
func replaceCredentials(ctx context.Context, t *testing.T, st *Stack, store *secretstore.Store, arn string, secrets []string) []string {
	t.Helper()
	key, _ := st.Simulator.AddAppKey(ddsim.DemoRotatorID, "e2e-patched", ddsim.DemoAppKeyScopes())
	secrets = append(secrets, key)
	before := currentDocument(ctx, t, store, arn)
	body, err := json.Marshal(map[string]any{"credentials": map[string]string{
		"url": "https://api." + ddsim.DemoSite, "apiKey": ddsim.DemoAPIKey, "applicationKey": key,
	}})
	if err != nil {
		t.Fatal(err)
	}
	call(ctx, t, st, "ManageFunction", "PATCH /connections/{name}", connPath, body, http.StatusOK, secrets)
	if doc := currentDocument(ctx, t, store, arn); doc.Key != key {
		t.Error("AWSCURRENT does not hold the application key sent with PATCH")
	}
	if doc := document(ctx, t, store, arn, secretstore.Previous); doc.Key != before.Key {
		t.Error("AWSPREVIOUS does not hold the application key PATCH replaced")
	}
	return secrets
}

func waitIdle(ctx context.Context, t *testing.T, st *Stack) {
	t.Helper()
	if err := st.Emulator.WaitIdle(ctx); err != nil {
		t.Fatalf("waiting for the rotation: %v", err)
	}
}

func describe(ctx context.Context, t *testing.T, store *secretstore.Store, arn string) secretstore.Secret {
	t.Helper()
	sec, err := store.Describe(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// assertCalled checks that a function sent each Secrets Manager operation:
// the journey is meant to exercise them (and so their IAM grants).
func assertCalled(t *testing.T, st *Stack, id string, ops ...string) {
	t.Helper()
	calls := st.Calls(id)
	for _, op := range ops {
		if !slices.Contains(calls, op) {
			t.Errorf("%s never called %s (it called %v)", id, op, calls)
		}
	}
}

// assertCallsAllowed checks every Secrets Manager and EventBridge call each
// function sent against the policy template.yaml gives it - action,
// resource, and the events:source condition of PutEvents - together with
// the permissions those calls need besides their own (TagResource for a
// tagged CreateSecret, lambda:InvokeFunction for RotateSecret): code
// calling what its policy lacks would fail with AccessDenied on AWS. KMS
// grants are not checked (the stand-in has no KMS).
func assertCallsAllowed(t *testing.T, st *Stack) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(st.Functions)) {
		pol, err := policyOf(template, id, st.values)
		if err != nil {
			t.Fatal(err)
		}
		reported := map[string]bool{}
		for _, c := range st.APICalls(id) {
			if what := describeCall(c); !reported[what] && !pol.allows(c) {
				reported[what] = true
				t.Errorf("%s sent %s, which template.yaml does not grant it", id, what)
			}
		}
		t.Logf("%s called Secrets Manager %v, EventBridge %v", id, st.Calls(id), st.calls.operations(id, "events:"))
	}
}

// call sends one HTTP event to a function and checks the status, and that
// the answer holds none of the secrets.
func call(ctx context.Context, t *testing.T, st *Stack, id, route, path string, body []byte, want int, secrets []string) HTTPResponse {
	t.Helper()
	resp, err := InvokeHTTP(ctx, st.Functions[id], route, path, body)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	assertNoSecrets(t, route, resp.Body, secrets)
	if resp.Status != want {
		t.Fatalf("%s %s answered %d, want %d: %s", route, path, resp.Status, want, resp.Body)
	}
	return resp
}

// assertNoSecrets stops the test if body, the output named by what, holds
// any piece of the secrets (testkit.AssertNoKeyMaterial).
func assertNoSecrets(t *testing.T, what string, body []byte, secrets []string) {
	t.Helper()
	if !testkit.AssertNoKeyMaterial(t, body, secrets...) {
		t.Fatalf("%s holds key material", what)
	}
}

// assertLogsHoldNoSecrets checks each function's output so far (its JSON
// logs and the RIE's) for the secrets.
func assertLogsHoldNoSecrets(t *testing.T, st *Stack, secrets []string) {
	t.Helper()
	if st.LogDir == "" {
		t.Fatal("the stack keeps no logs to check")
	}
	for _, id := range slices.Sorted(maps.Keys(st.Functions)) {
		out, err := os.ReadFile(filepath.Join(st.LogDir, id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecrets(t, id+"'s log", out, secrets)
	}
}

func decode(t *testing.T, resp HTTPResponse, v any) {
	t.Helper()
	if err := json.Unmarshal(resp.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", resp.Body, err)
	}
}

// errorCode is the code of an error envelope.
func errorCode(t *testing.T, resp HTTPResponse) string {
	t.Helper()
	var envelope struct {
		Error struct{ Code string }
	}
	decode(t, resp, &envelope)
	return envelope.Error.Code
}

func createBody(apiKey, appKey string) []byte {
	b, err := json.Marshal(map[string]any{
		"name":        connName,
		"description": "e2e journey",
		"credentials": map[string]string{"url": "https://api." + ddsim.DemoSite, "apiKey": apiKey, "applicationKey": appKey},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// verifier is the test's own Secrets Manager client, on the unrecorded
// endpoint.
func verifier(ctx context.Context, t *testing.T, st *Stack) *secretstore.Store {
	t.Helper()
	store, err := secretstore.New(ctx, secretstore.Options{Endpoint: st.SecretsManagerURL, Region: Region, StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func currentDocument(ctx context.Context, t *testing.T, store *secretstore.Store, arn string) secretkind.Document {
	t.Helper()
	return document(ctx, t, store, arn, secretstore.Current)
}

func document(ctx context.Context, t *testing.T, store *secretstore.Store, arn, stage string) secretkind.Document {
	t.Helper()
	v, err := store.Get(ctx, arn, "", stage)
	if err != nil {
		t.Fatalf("reading %s: %v", stage, err)
	}
	doc, err := secretkind.Connection.Parse(v.Value)
	if err != nil {
		t.Fatalf("decoding %s: %v", stage, err)
	}
	return doc
}

// TestEventShapes sends each binary events it must refuse or route: the
// HTTP functions serve only their own routes, and the rotate function tells
// its two event shapes apart and fails on anything else.
func TestEventShapes(t *testing.T) {
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("HTTP function answers 404 for another function's route", func(t *testing.T) {
		resp, err := InvokeHTTP(ctx, st.Functions["CreateFunction"], "GET /connections/{name}", connPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		var envelope struct {
			Error     struct{ Code string }
			RequestID string
		}
		if err := json.Unmarshal(resp.Body, &envelope); err != nil || resp.Status != http.StatusNotFound || envelope.RequestID == "" {
			t.Errorf("answer %d %s, want 404 with the error envelope and a request id", resp.Status, resp.Body)
		}
	})
	t.Run("manage lists connections", func(t *testing.T) {
		resp, err := InvokeHTTP(ctx, st.Functions["ManageFunction"], "GET /connections", "/connections", nil)
		if err != nil || resp.Status != http.StatusOK {
			t.Errorf("answer %v %d %s, want 200", err, resp.Status, resp.Body)
		}
	})
	t.Run("rotation step for a secret that is not a connection fails", func(t *testing.T) {
		ev, err := RotationEvent("createSecret",
			"arn:aws:secretsmanager:"+Region+":"+AccountID+":secret:ddconn/connections/missing-AbCdEf",
			"00000000-0000-4000-8000-0000000000e2")
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Functions["RotateFunction"].Invoke(ctx, ev)
		var fe *FunctionError
		if !errors.As(err, &fe) {
			t.Errorf("Invoke() error = %v, want the function's error", err)
		}
	})
	t.Run("rotate function refuses an unknown event", func(t *testing.T) {
		_, err := st.Functions["RotateFunction"].Invoke(ctx, []byte(`{"Records":[{"eventSource":"aws:s3"}]}`))
		var fe *FunctionError
		if !errors.As(err, &fe) {
			t.Errorf("Invoke() error = %v, want the function's error", err)
		}
	})
	t.Run("scheduled sweep over no connections succeeds", func(t *testing.T) {
		ev, err := ScheduledEvent()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Functions["RotateFunction"].Invoke(ctx, ev); err != nil {
			t.Errorf("Invoke() error = %v", err)
		}
	})
}
