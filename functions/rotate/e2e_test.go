package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/logging"
	"github.com/ddconn/ddconn/pkg/metrics"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// TestHandlerEndToEnd wires the function as main does, but on the in-process
// stack's emulator and simulator, and lets the emulator deliver its own
// event payloads to the handler; then a scheduled event runs the sweeper.
func TestHandlerEndToEnd(t *testing.T) {
	clock := smemu.NewClock(time.Now)
	var out bytes.Buffer
	logger := logging.New(&out, nil)
	var h handler
	st := devstack.StartTest(t, devstack.Options{
		Now:           clock.Now,
		RetryInterval: 10 * time.Millisecond,
		Emulator:      smemu.Options{Clock: clock},
		Simulator:     ddsim.Options{Now: clock.Now, ActivationDelay: 100 * time.Millisecond},
		RotationFunction: func(d devstack.Deps) (smemu.Invoker, error) {
			mw := metrics.New(&out, clock.Now)
			rot := rotation.New(d.Store, d.Datadog, rotation.Options{Prefix: d.SecretPrefix, Now: clock.Now, Logger: logger, Metrics: mw,
				Activation: rotation.Activation{Initial: 20 * time.Millisecond}, Publisher: d.Events})
			sw := sweeper.New(d.Store, d.Datadog, rot, sweeper.Options{Prefix: d.SecretPrefix, Now: clock.Now, Logger: logger, Metrics: mw})
			h = newHandler(rot, sw, logger)
			return smemu.InvokerFunc(func(ctx context.Context, _ string, payload []byte) error {
				return h.Handle(ctx, json.RawMessage(payload))
			}), nil
		},
	})
	ctx, sim, store := context.Background(), st.Simulator, st.Store

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
			LambdaARN: st.RotationFunctionARN,
			Rules:     &secretstore.RotationRules{ScheduleExpression: "rate(30 days)"},
		}); err != nil {
			t.Fatal(err)
		}
		if err := st.Emulator.WaitIdle(ctx); err != nil {
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
	st.Emulator.Advance(11 * time.Minute)
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
