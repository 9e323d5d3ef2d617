package main

import (
	"bytes"
	"context"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// TestHandlerEndToEnd wires the function as main does, but against the
// emulator and the simulator, and lets the emulator deliver its own event
// payloads to the handler; then a scheduled event runs the sweeper.
func TestHandlerEndToEnd(t *testing.T) {
	clock := smemu.NewClock(time.Now)
	sim, err := ddsim.New(ddsim.Options{Now: clock.Now, ActivationDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ddServer := httptest.NewServer(sim)
	defer ddServer.Close()

	var h handler
	emu, err := smemu.New(smemu.Options{Clock: clock, RetryInterval: 10 * time.Millisecond,
		Invoker: smemu.InvokerFunc(func(ctx context.Context, _ string, payload []byte) error { return h.Handle(ctx, payload) })})
	if err != nil {
		t.Fatal(err)
	}
	smServer := httptest.NewServer(emu)
	defer smServer.Close()
	emu.Start()
	defer emu.Close()

	ctx := context.Background()
	store, err := secretstore.New(ctx, secretstore.Options{Endpoint: smServer.URL, Region: "us-east-1", StaticCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	logger := logging.New(&out, nil)
	mw := metrics.New(&out, clock.Now)
	dd := datadog.New(datadog.Options{BaseURL: ddServer.URL})
	rot := rotation.New(store, dd, rotation.Options{Prefix: "ddconn/connections/", Now: clock.Now, Logger: logger, Metrics: mw,
		Activation: rotation.Activation{Initial: 20 * time.Millisecond}})
	sw := sweeper.New(store, dd, rot, sweeper.Options{Prefix: "ddconn/connections/", Now: clock.Now, Logger: logger, Metrics: mw})
	h = newHandler(rot, sw, logger)

	org := sim.CreateOrg("org")
	apiKey, _ := sim.AddAPIKey(org, "api")
	owner := sim.AddUser(org, ddsim.UserSpec{Name: "rotator", ServiceAccount: true, Permissions: []string{"user_app_keys"}})
	appKey, keyID := sim.AddAppKey(owner, "original", []string{"user_app_keys"})
	doc := secretkind.Document{URL: "https://api.datadoghq.com", APIKey: apiKey, Key: appKey,
		KeyID: keyID, OwnerID: owner, OwnerIsServiceAccount: true, Scopes: []string{"user_app_keys"}}
	value, _ := secretkind.Connection.Marshal(doc)
	sec, err := store.Create(ctx, secretstore.CreateInput{Name: "ddconn/connections/e2e", Value: value})
	if err != nil {
		t.Fatal(err)
	}

	for range 2 {
		if _, err := store.Rotate(ctx, sec.ARN, secretstore.RotateInput{
			LambdaARN: "arn:aws:lambda:us-east-1:123456789012:function:rotate",
			Rules:     &secretstore.RotationRules{ScheduleExpression: "rate(30 days)"},
		}); err != nil {
			t.Fatal(err)
		}
		if err := emu.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if sim.Authenticates(apiKey, appKey) {
		t.Error("the original key survived two next-rotation rotations")
	}
	cur, err := store.Get(ctx, sec.ARN, "", secretstore.Current)
	if err != nil {
		t.Fatal(err)
	}
	curDoc, _ := secretkind.Connection.Parse(cur.Value)
	if !sim.Authenticates(apiKey, curDoc.Key) {
		t.Fatal("AWSCURRENT does not authenticate")
	}

	_, staleID := sim.AddAppKey(owner, secretkind.ConnectionName("e2e").DatadogKeyName(secretkind.KeyScope("ddconn/connections/", sec.ARN), "abandoned-token"), []string{"user_app_keys"})
	emu.Advance(11 * time.Minute)
	if err := h.Handle(ctx, testkit.Event(testkit.ScheduledEvent)); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	for _, k := range sim.Keys() {
		if k.ID == staleID {
			t.Error("the sweeper left the abandoned key")
		}
	}
	if n := len(slices.DeleteFunc(sim.Keys(), func(k ddsim.KeyInfo) bool { return k.OwnerID != owner })); n != 2 {
		t.Errorf("%d keys of the owner, want 2 (current and previous)", n)
	}
	testkit.AssertNoKeyMaterial(t, out.Bytes(), apiKey, appKey, curDoc.Key)
}
