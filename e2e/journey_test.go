//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// The journey's connection.
const (
	connName = "prod"
	connPath = "/connections/" + connName
)

// TestJourney is a user's day one through the shipped binaries: create a
// connection, validate it, read it, turn rotation on and rotate, twice, with
// the emulator running the rotation steps in the rotate binary through its
// RIE endpoint; then the scheduled sweep.
func TestJourney(t *testing.T) {
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	store := verifier(ctx, t, st)
	secrets := []string{ddsim.DemoAPIKey, ddsim.DemoAppKey} // grows with each rotation

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

	resp = call(ctx, t, st, "ValidateFunction", "POST /connections/{name}/validate", connPath+"/validate", nil, http.StatusOK, secrets)
	var validation struct{ Valid bool }
	if decode(t, resp, &validation); !validation.Valid {
		t.Fatalf("validation = %s, want valid", resp.Body)
	}

	resp = call(ctx, t, st, "ManageFunction", "GET /connections/{name}", connPath, nil, http.StatusOK, secrets)
	var read struct {
		Rotation struct{ Enabled bool }
	}
	if decode(t, resp, &read); read.Rotation.Enabled {
		t.Fatalf("new connection has rotation enabled: %s", resp.Body)
	}

	first := rotate(ctx, t, st, store, created.SecretARN)
	secrets = append(secrets, first)
	if !st.Simulator.Authenticates(ddsim.DemoAPIKey, first) {
		t.Error("the rotated-in application key (AWSCURRENT) does not authenticate at Datadog")
	}
	if !st.Simulator.Authenticates(ddsim.DemoAPIKey, ddsim.DemoAppKey) {
		t.Error("the replaced key (AWSPREVIOUS) no longer authenticates: consumers caching it would fail")
	}

	// The default policy revokes a replaced key at the next rotation.
	second := rotate(ctx, t, st, store, created.SecretARN)
	secrets = append(secrets, second)
	for _, c := range []struct {
		what string
		key  string
		want bool
	}{
		{"the current key", second, true},
		{"the previous key", first, true},
		{"the key replaced two rotations ago", ddsim.DemoAppKey, false},
	} {
		if got := st.Simulator.Authenticates(ddsim.DemoAPIKey, c.key); got != c.want {
			t.Errorf("%s authenticates = %v, want %v", c.what, got, c.want)
		}
	}

	// Reads after rotation see the new key's connection, without the key.
	call(ctx, t, st, "ManageFunction", "GET /connections/{name}", connPath, nil, http.StatusOK, secrets)
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

	// The rest of the manage routes, so their Secrets Manager calls are
	// recorded too.
	call(ctx, t, st, "ManageFunction", "GET /connections", "/connections", nil, http.StatusOK, secrets)
	call(ctx, t, st, "ManageFunction", "PATCH /connections/{name}", connPath, []byte(`{"description":"renamed in e2e"}`), http.StatusOK, secrets)
	call(ctx, t, st, "ManageFunction", "DELETE /connections/{name}", connPath, nil, http.StatusOK, secrets)
	call(ctx, t, st, "ManageFunction", "GET /connections/{name}", connPath, nil, http.StatusNotFound, secrets)

	assertCallsAllowed(t, st)
}

// rotateRoutes are the manage routes that turn rotation on and rotate now.
var rotateRoutes = []string{"PUT /connections/{name}/rotation", "POST /connections/{name}/rotate"}

// rotate runs one rotation to completion and returns the new application
// key. While the manage function does not serve the rotation routes, it asks
// Secrets Manager directly, with the call the manage function makes.
func rotate(ctx context.Context, t *testing.T, st *Stack, store *secretstore.Store, arn string) string {
	t.Helper()
	before := currentDocument(ctx, t, store, arn)
	if servesRoutes(rotateRoutes) {
		t.Fatal("manage serves the rotation routes now: drive them here instead of RotateSecret")
	}
	t.Log("manage does not serve the rotation routes yet: rotating with Secrets Manager's RotateSecret")
	now := true
	if _, err := store.Rotate(ctx, arn, secretstore.RotateInput{
		LambdaARN:         RotateFunctionARN,
		Rules:             &secretstore.RotationRules{AutomaticallyAfterDays: 30},
		RotateImmediately: &now,
	}); err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	if err := st.Emulator.WaitIdle(ctx); err != nil {
		t.Fatalf("waiting for the rotation: %v", err)
	}
	sec, err := store.Describe(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if !sec.RotationEnabled || sec.LastRotatedAt == nil {
		t.Fatalf("after rotating: RotationEnabled %v, LastRotatedAt %v; see the rotate function's log", sec.RotationEnabled, sec.LastRotatedAt)
	}
	if _, pending := sec.VersionWith(secretstore.Pending); pending {
		t.Error("AWSPENDING is still staged after the rotation")
	}
	after := currentDocument(ctx, t, store, arn)
	previous := document(ctx, t, store, arn, secretstore.Previous)
	if after.ApplicationKey == before.ApplicationKey || after.ApplicationKeyID == before.ApplicationKeyID {
		t.Fatal("AWSCURRENT holds the same application key after the rotation")
	}
	if previous.ApplicationKey != before.ApplicationKey {
		t.Error("AWSPREVIOUS does not hold the replaced application key")
	}
	if after.APIKey != before.APIKey || after.URL != before.URL || after.OwnerID != before.OwnerID {
		t.Error("the rotation changed more than the application key")
	}
	return after.ApplicationKey
}

// servesRoutes reports whether httpapi.Routes has every route.
func servesRoutes(routes []string) bool {
	for _, want := range routes {
		if !slices.ContainsFunc(httpapi.Routes, func(r httpapi.Route) bool { return r.Key() == want }) {
			return false
		}
	}
	return true
}

// assertCallsAllowed checks that every Secrets Manager operation a function
// sent is granted to it by template.yaml: code calling an operation its IAM
// policy lacks would fail with AccessDenied on AWS.
func assertCallsAllowed(t *testing.T, st *Stack) {
	t.Helper()
	for id := range st.Functions {
		granted, err := template.Actions(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range st.Calls(id) {
			if !slices.Contains(granted, "secretsmanager:"+op) {
				t.Errorf("%s called %s, which template.yaml does not grant it", id, op)
			}
		}
		t.Logf("%s called %v", id, st.Calls(id))
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

func assertNoSecrets(t *testing.T, what string, body []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			// Say which, not what: the value must not reach the test log either.
			t.Fatalf("%s contains key material (a %d-character key)", what, len(s))
		}
	}
}

func decode(t *testing.T, resp HTTPResponse, v any) {
	t.Helper()
	if err := json.Unmarshal(resp.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", resp.Body, err)
	}
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

func currentDocument(ctx context.Context, t *testing.T, store *secretstore.Store, arn string) connection.Document {
	t.Helper()
	return document(ctx, t, store, arn, secretstore.Current)
}

func document(ctx context.Context, t *testing.T, store *secretstore.Store, arn, stage string) connection.Document {
	t.Helper()
	v, err := store.Get(ctx, arn, "", stage)
	if err != nil {
		t.Fatalf("reading %s: %v", stage, err)
	}
	doc, err := connection.ParseDocument(v.Value)
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
