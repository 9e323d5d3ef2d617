//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/provisioning"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/site"
)

// The connection TestProvisioning creates from an event, and its managed keys.
const (
	pipelineConn   = "pipeline"
	pipelineAppKey = "checkout"
	pipelineAPIKey = "agent"
	// stagingSecret is where the pipeline puts the keys of "Create
	// Connection": under the prefix's staging/ folder.
	stagingSecret = config.DefaultSecretPrefix + provisioning.StagingPrefix + pipelineConn
)

// apiKeysScopes are the scopes of an application key that may mint and
// revoke managed API keys: the demo rotator key's, plus api_keys_*
// (ddsim.DemoAppKey lacks them, so with it "Provision API Key" and POST
// …/api-keys are refused with permission-denied).
func apiKeysScopes() []string {
	return append(ddsim.DemoAppKeyScopes(), "api_keys_read", "api_keys_write", "api_keys_delete")
}

// TestProvisioning is a platform pipeline driving ddconn through
// EventBridge, against the shipped binaries: the create binary carries out
// request events - each delivered twice, as EventBridge's at-least-once
// delivery may, and once more when publishing an outcome fails and Lambda
// retries - and publishes each outcome on the bus; the rotate binary
// publishes a failed rotation step; the manage binary's managed-key routes
// are called once. Every outcome is checked against the stand-ins' state,
// no event or log line carries key material, and every call is granted by
// template.yaml.
func TestProvisioning(t *testing.T) {
	r := newPipeline(t)

	r.createConnection()
	appKey := r.provisionAppKey()
	apiKey := r.provisionAPIKey()
	r.rotateTwice(map[string]secretkind.Kind{r.connectionARN(): secretkind.Connection,
		appKey.SecretARN: secretkind.AppKey, apiKey.SecretARN: secretkind.APIKey})
	r.rollBack()
	r.failRotation(appKey.SecretARN)
	r.deleteManagedKey(provisioning.KindApplicationKey, pipelineAppKey, appKey.SecretARN)
	r.deleteManagedKey(provisioning.KindAPIKey, pipelineAPIKey, apiKey.SecretARN)
	r.refuseInvalidEvent()
	r.callManagedKeyRoutes()

	r.assertPublishers()
	r.assertNoKeyMaterialOnBus()
	assertCallsAllowed(t, r.st)
	assertLogsHoldNoSecrets(t, r.st, r.secrets)
}

// pipeline is the state TestProvisioning's steps share.
type pipeline struct {
	t     *testing.T
	ctx   context.Context
	st    *Stack
	store *secretstore.Store // the test's own client, unrecorded
	dd    *datadog.Client    // the test's own client of the simulator
	creds datadog.Credentials
	// secrets is the key material that must appear in no answer, event or
	// log line; it grows with each minted key.
	secrets []string
	// lostOutcomes counts the PutEvents calls the bus was told to fail.
	lostOutcomes int
}

func newPipeline(t *testing.T) *pipeline {
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	us1, ok := site.ByParam(ddsim.DemoSite)
	if !ok {
		t.Fatalf("site %s is not allow-listed", ddsim.DemoSite)
	}
	appKey, _ := st.Simulator.AddAppKey(ddsim.DemoRotatorID, "e2e-pipeline", apiKeysScopes())
	return &pipeline{
		t: t, ctx: ctx, st: st,
		store:   verifier(ctx, t, st),
		dd:      datadog.New(datadog.Options{BaseURL: st.DatadogURL}),
		creds:   datadog.Credentials{Site: us1, APIKey: ddsim.DemoAPIKey, AppKey: appKey},
		secrets: []string{ddsim.DemoAPIKey, ddsim.DemoAppKey, appKey},
	}
}

// createConnection stages the keys in a secret, as the pipeline would,
// and sends "Create Connection" twice.
func (r *pipeline) createConnection() {
	t := r.t
	t.Helper()
	value, err := json.Marshal(map[string]string{"apiKey": r.creds.APIKey, "applicationKey": r.creds.AppKey})
	if err != nil {
		t.Fatal(err)
	}
	staged, err := r.store.Create(r.ctx, secretstore.CreateInput{Name: stagingSecret, Value: string(value)})
	if err != nil {
		t.Fatalf("writing the staging secret: %v", err)
	}
	id, ev := r.request(provisioning.CreateConnection, provisioning.CreateConnectionDetail{
		Name: pipelineConn, Description: "from the e2e pipeline", URL: "https://api." + ddsim.DemoSite,
		CredentialsSecretARN: staged.ARN, DeleteSourceSecret: true,
	})

	r.deliver(ev)
	created := outcomesOf[provisioning.ConnectionCreatedDetail](r, provisioning.ConnectionCreated)
	if len(created) != 1 {
		t.Fatalf("after one Create Connection the bus has %d Connection Created events, want 1", len(created))
	}
	first := created[0]
	if first.RequestID != id || first.Connection.Name != pipelineConn || first.Connection.SecretARN == "" || !first.SourceSecretDeleted {
		t.Errorf("Connection Created: requestId %q, connection %q, secretArn %q, sourceSecretDeleted %v; want %q, %q, an ARN, true",
			first.RequestID, first.Connection.Name, first.Connection.SecretARN, first.SourceSecretDeleted, id, pipelineConn)
	}
	if _, err := r.store.Describe(r.ctx, staged.ARN); !errors.Is(err, secretstore.ErrNotFound) {
		t.Errorf("the staging secret after Create Connection: Describe error = %v, want not found", err)
	}
	if doc := currentDocument(r.ctx, t, r.store, first.Connection.SecretARN); doc.APIKey != r.creds.APIKey || doc.Key != r.creds.AppKey {
		t.Error("the connection's secret does not hold the staged keys")
	}
	r.assertConnectionCount(1)

	r.deliver(ev) // EventBridge delivers at least once
	created = outcomesOf[provisioning.ConnectionCreatedDetail](r, provisioning.ConnectionCreated)
	if len(created) != 2 || created[1].RequestID != id || created[1].Connection.SecretARN != first.Connection.SecretARN {
		t.Errorf("after a duplicate delivery: %d Connection Created events, want 2 for request %s and secret %s", len(created), id, first.Connection.SecretARN)
	}
	r.assertConnectionCount(1)
}

// assertConnectionCount checks, through the manage binary, how many
// connections are named pipelineConn.
func (r *pipeline) assertConnectionCount(want int) {
	r.t.Helper()
	resp := call(r.ctx, r.t, r.st, "ManageFunction", "GET /connections", "/connections", nil, http.StatusOK, r.secrets)
	var page struct{ Connections []struct{ Name string } }
	decode(r.t, resp, &page)
	got := 0
	for _, c := range page.Connections {
		if c.Name == pipelineConn {
			got++
		}
	}
	if got != want {
		r.t.Errorf("GET /connections lists %d connections named %s, want %d", got, pipelineConn, want)
	}
}

// provisionAppKey sends "Provision Application Key" twice: one key in
// Datadog, one secret, the same outcome twice.
func (r *pipeline) provisionAppKey() managedkey.AppKey {
	t := r.t
	t.Helper()
	name := secretkind.Name{Kind: secretkind.AppKey, Connection: pipelineConn, Key: pipelineAppKey}
	id, ev := r.request(provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{
		Connection: pipelineConn,
		MintInput: managedkey.MintInput{Name: pipelineAppKey, ServiceAccountID: ddsim.DemoMetricsWriterID,
			Scopes: []string{"metrics_read"}, IncludeAPIKey: true},
	})
	r.deliver(ev)
	r.deliver(ev)

	key := sameOutcomes(r, provisioning.ApplicationKeyProvisioned, id, 2,
		func(o provisioning.ApplicationKeyProvisionedDetail) (string, string, string) {
			return o.RequestID, o.Key.ApplicationKeyID, o.Key.SecretARN
		}).Key
	if key.ServiceAccountID != ddsim.DemoMetricsWriterID || !slices.Equal(key.Scopes, []string{"metrics_read"}) || !key.IncludeAPIKey {
		t.Errorf("provisioned key: service account %q, scopes %v, includeApiKey %v; want the requested ones", key.ServiceAccountID, key.Scopes, key.IncludeAPIKey)
	}

	doc := r.keyDocument(secretkind.AppKey, key.SecretARN)
	if ids := r.appKeyIDs(keyNamePrefix(name, key.SecretARN)); len(ids) != 1 || ids[0] != key.ApplicationKeyID || doc.KeyID != key.ApplicationKeyID {
		t.Errorf("Datadog has application keys %v named for %s, the secret holds %q; want exactly the provisioned %q",
			ids, pipelineAppKey, doc.KeyID, key.ApplicationKeyID)
	}
	if doc.APIKey != r.creds.APIKey {
		t.Error("includeApiKey: the managed key's secret does not hold the connection's API key")
	}
	r.assertSecretCount(secretkind.Prefix(config.DefaultSecretPrefix, secretkind.AppKey, pipelineConn), 1)
	r.assertRotationTested(key.SecretARN)
	return key
}

// provisionAPIKey sends "Provision API Key" three times: EventBridge fails
// the first outcome's entry, so that invocation fails for Lambda to retry
// it; the retries find the key minted and publish its outcome.
func (r *pipeline) provisionAPIKey() managedkey.APIKey {
	t := r.t
	t.Helper()
	name := secretkind.Name{Kind: secretkind.APIKey, Connection: pipelineConn, Key: pipelineAPIKey}
	id, ev := r.request(provisioning.ProvisionAPIKey, provisioning.ProvisionAPIKeyDetail{
		Connection: pipelineConn, APIKeyInput: managedkey.APIKeyInput{Name: pipelineAPIKey},
	})
	r.st.Bus.FailNext(1, busemu.FaultFailedEntry)
	r.lostOutcomes++
	r.deliverForRetry(ev)
	r.deliver(ev)
	r.deliver(ev)

	// The first outcome was lost, so the three deliveries published two.
	key := sameOutcomes(r, provisioning.APIKeyProvisioned, id, 2,
		func(o provisioning.APIKeyProvisionedDetail) (string, string, string) {
			return o.RequestID, o.Key.APIKeyID, o.Key.SecretARN
		}).Key

	doc := r.keyDocument(secretkind.APIKey, key.SecretARN)
	if ids := r.apiKeyIDs(keyNamePrefix(name, key.SecretARN)); len(ids) != 1 || ids[0] != key.APIKeyID || doc.KeyID != key.APIKeyID {
		t.Errorf("Datadog has API keys %v named for %s, the secret holds %q; want exactly the provisioned %q",
			ids, pipelineAPIKey, doc.KeyID, key.APIKeyID)
	}
	if !r.st.Simulator.Authenticates(doc.Key, r.creds.AppKey) {
		t.Error("the provisioned API key does not authenticate at Datadog")
	}
	r.assertSecretCount(secretkind.Prefix(config.DefaultSecretPrefix, secretkind.APIKey, pipelineConn), 1)
	r.assertRotationTested(key.SecretARN)
	return key
}

// assertRotationTested waits for the rotation test Secrets Manager runs in
// the rotate binary when rotation is enabled on a new managed key, and
// checks that it passed.
func (r *pipeline) assertRotationTested(arn string) {
	r.t.Helper()
	waitIdle(r.ctx, r.t, r.st)
	sec := describe(r.ctx, r.t, r.store, arn)
	if !sec.RotationEnabled || sec.RotationLambdaARN != RotateFunctionARN {
		r.t.Errorf("managed key %s: rotation enabled %v with %q, want enabled with the rotate function", sec.Name, sec.RotationEnabled, sec.RotationLambdaARN)
	}
	if _, pending := sec.VersionWith(secretstore.Pending); pending {
		r.t.Errorf("managed key %s: AWSPENDING is still staged after the rotation test", sec.Name)
	}
	for _, f := range outcomesOf[rotation.Failed](r, provisioning.RotationFailed) {
		if f.SecretARN == sec.ARN || f.SecretARN == sec.Name {
			r.t.Errorf("the rotation test of managed key %s failed in step %s: %s", sec.Name, f.Step, f.Message)
		}
	}
}

// failRotation sends the rotate binary a step whose token is no version of
// the secret: the step fails, and the binary publishes "Rotation Failed".
func (r *pipeline) failRotation(arn string) {
	t := r.t
	t.Helper()
	token := newEventID()
	ev, err := RotationEvent(rotationstate.StepCreate, arn, token)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.st.Functions["RotateFunction"].Invoke(r.ctx, ev)
	assertNoSecrets(t, "the rotate function's error", out, r.secrets)
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("a step with an unknown token: Invoke() error = %v, want the function's error", err)
	}
	failed := outcomesOf[rotation.Failed](r, provisioning.RotationFailed)
	if len(failed) != 1 || failed[0].RequestID != token || failed[0].SecretARN != arn || failed[0].Step != rotationstate.StepCreate || failed[0].Message == "" {
		t.Errorf("Rotation Failed events %+v, want one for token %s, secret %s, step %s, with a message", failed, token, arn, rotationstate.StepCreate)
	}
}

// deleteManagedKey sends "Delete Managed Key" twice: the key is revoked in
// Datadog and its secret deleted; the repeat finds nothing left.
func (r *pipeline) deleteManagedKey(kind, key, arn string) {
	t := r.t
	t.Helper()
	before := len(r.st.Bus.EventsOf(provisioning.OutcomeSource, provisioning.ManagedKeyDeleted))
	id, ev := r.request(provisioning.DeleteManagedKey, provisioning.DeleteManagedKeyDetail{Connection: pipelineConn, Kind: kind, Name: key})
	r.deliver(ev)
	r.deliver(ev)

	outs := outcomesOf[provisioning.ManagedKeyDeletedDetail](r, provisioning.ManagedKeyDeleted)[before:]
	if len(outs) != 2 {
		t.Fatalf("after two deliveries %d more Managed Key Deleted events, want 2", len(outs))
	}
	for i, o := range outs {
		wantExisted := i == 0
		if o.RequestID != id || o.Kind != kind || o.Name != key || o.Connection != pipelineConn || o.Existed != wantExisted {
			t.Errorf("Managed Key Deleted #%d: %+v, want request %s for %s %s of %s, existed %v", i+1, o, id, kind, key, pipelineConn, wantExisted)
		}
	}
	if _, err := r.store.Describe(r.ctx, arn); !errors.Is(err, secretstore.ErrNotFound) {
		t.Errorf("the secret of %s %s after its deletion: Describe error = %v, want not found", kind, key, err)
	}
	var left []string
	switch kind {
	case provisioning.KindApplicationKey:
		left = r.appKeyIDs(keyNamePrefix(secretkind.Name{Kind: secretkind.AppKey, Connection: pipelineConn, Key: key}, arn))
	case provisioning.KindAPIKey:
		left = r.apiKeyIDs(keyNamePrefix(secretkind.Name{Kind: secretkind.APIKey, Connection: pipelineConn, Key: key}, arn))
	}
	if len(left) > 0 {
		t.Errorf("Datadog still has keys %v of %s %s after its deletion", left, kind, key)
	}
}

// refuseInvalidEvent sends a request whose detail has a field no request
// has: the invocation succeeds (Lambda must not retry it), the outcome is
// "Provisioning Failed" with reason invalid-event, and nothing was made.
func (r *pipeline) refuseInvalidEvent() {
	t := r.t
	t.Helper()
	before := r.snapshot()
	id, ev := r.request(provisioning.ProvisionApplicationKey, json.RawMessage(
		`{"connection":"`+pipelineConn+`","name":"typo","serviceAccountId":"`+ddsim.DemoMetricsWriterID+`","scopes":["metrics_read"],"scope":"metrics_write"}`))
	r.deliver(ev)

	failed := outcomesOf[provisioning.Failed](r, provisioning.ProvisioningFailed)
	if len(failed) != 1 {
		t.Fatalf("the bus has %d Provisioning Failed events, want 1", len(failed))
	}
	f := failed[0]
	if f.RequestID != id || f.Request != provisioning.ProvisionApplicationKey || f.Reason != provisioning.ReasonInvalidEvent || f.Retryable {
		t.Errorf("Provisioning Failed: requestId %q, request %q, reason %q, retryable %v; want %q, %q, %q, false",
			f.RequestID, f.Request, f.Reason, f.Retryable, id, provisioning.ProvisionApplicationKey, provisioning.ReasonInvalidEvent)
	}
	if !slices.ContainsFunc(f.Details, func(d connection.FieldError) bool { return d.Field == "detail.scope" }) {
		t.Errorf("Provisioning Failed details %+v do not name detail.scope", f.Details)
	}
	if after := r.snapshot(); !after.equal(before) {
		t.Errorf("an invalid event changed the stand-ins: before %+v, after %+v", before, after)
	}
}

// callManagedKeyRoutes mints, reads and deletes an application key through
// the manage binary's HTTP routes.
func (r *pipeline) callManagedKeyRoutes() {
	t := r.t
	t.Helper()
	const key = "http-minted"
	keys := "/connections/" + pipelineConn + "/application-keys"
	body := []byte(`{"name":"` + key + `","serviceAccountId":"` + ddsim.DemoMetricsWriterID + `","scopes":["metrics_read"]}`)
	resp := call(r.ctx, t, r.st, "ManageFunction", "POST /connections/{name}/application-keys", keys, body, http.StatusCreated, r.secrets)
	var minted managedkey.AppKey
	decode(t, resp, &minted)
	if loc := resp.Headers["Location"]; loc != keys+"/"+key {
		t.Errorf("POST …/application-keys: Location %q, want %q", loc, keys+"/"+key)
	}
	r.keyDocument(secretkind.AppKey, minted.SecretARN) // adds the key to r.secrets
	prefix := keyNamePrefix(secretkind.Name{Kind: secretkind.AppKey, Connection: pipelineConn, Key: key}, minted.SecretARN)
	if ids := r.appKeyIDs(prefix); len(ids) != 1 || ids[0] != minted.ApplicationKeyID {
		t.Errorf("Datadog has keys %v for %s, want the minted %q", ids, key, minted.ApplicationKeyID)
	}
	r.assertRotationTested(minted.SecretARN)

	resp = call(r.ctx, t, r.st, "ManageFunction", "GET /connections/{name}/application-keys/{key}", keys+"/"+key, nil, http.StatusOK, r.secrets)
	var got managedkey.AppKey
	if decode(t, resp, &got); got.ApplicationKeyID != minted.ApplicationKeyID || got.Name != key {
		t.Errorf("GET …/application-keys/%s answered key %q named %q, want %q", key, got.ApplicationKeyID, got.Name, minted.ApplicationKeyID)
	}
	call(r.ctx, t, r.st, "ManageFunction", "DELETE /connections/{name}/application-keys/{key}", keys+"/"+key, nil, http.StatusNoContent, r.secrets)
	call(r.ctx, t, r.st, "ManageFunction", "GET /connections/{name}/application-keys/{key}", keys+"/"+key, nil, http.StatusNotFound, r.secrets)
	if ids := r.appKeyIDs(prefix); len(ids) > 0 {
		t.Errorf("Datadog still has keys %v for %s after DELETE", ids, key)
	}
}

// assertPublishers checks that every event on the bus was put by the
// create or the rotate binary, with source ddconn: the manage and validate
// binaries publish nothing (template.yaml grants them no events:PutEvents).
func (r *pipeline) assertPublishers() {
	t := r.t
	t.Helper()
	puts := 0
	for _, id := range []string{"CreateFunction", "ManageFunction", "RotateFunction"} { // manage: Rotation Rolled Back
		n := countAction(r.st.APICalls(id), "events:PutEvents")
		if n == 0 {
			t.Errorf("%s never called PutEvents", id)
		}
		puts += n
	}
	for _, id := range []string{"ValidateFunction"} {
		if n := countAction(r.st.APICalls(id), "events:PutEvents"); n > 0 {
			t.Errorf("%s called PutEvents %d times", id, n)
		}
	}
	events := r.st.Bus.Events()
	if len(events) != puts-r.lostOutcomes {
		t.Errorf("the bus has %d events, the create, manage and rotate binaries put %d of which %d failed", len(events), puts, r.lostOutcomes)
	}
	for _, e := range events {
		if e.Source != provisioning.OutcomeSource {
			t.Errorf("event %s %q has source %q, want %q", e.ID, e.DetailType, e.Source, provisioning.OutcomeSource)
		}
	}
	if dropped := r.st.Bus.Dropped(); len(dropped) > 0 {
		t.Errorf("%d events went to a bus that does not exist", len(dropped))
	}
}

func countAction(calls []Call, action string) int {
	n := 0
	for _, c := range calls {
		if c.Action == action {
			n++
		}
	}
	return n
}

// assertNoKeyMaterialOnBus checks every event put on the bus against every
// key the test knows.
func (r *pipeline) assertNoKeyMaterialOnBus() {
	r.t.Helper()
	for _, e := range r.st.Bus.Events() {
		assertNoSecrets(r.t, fmt.Sprintf("event %s %q", e.ID, e.DetailType), e.JSON(), r.secrets)
	}
}

// request builds a request event (source ddconn.requests) with a new id.
func (r *pipeline) request(detailType string, detail any) (id string, event []byte) {
	r.t.Helper()
	id = newEventID()
	event, err := EventBridgeEvent(id, provisioning.RequestSource, detailType, detail)
	if err != nil {
		r.t.Fatal(err)
	}
	return id, event
}

// deliver invokes the create binary with an event, as the provisioning
// rule does; the invocation must succeed (an error would make Lambda retry
// it) and answer null.
func (r *pipeline) deliver(event []byte) {
	r.t.Helper()
	out, err := r.st.Functions["CreateFunction"].Invoke(r.ctx, event)
	assertNoSecrets(r.t, "the create function's answer", out, r.secrets)
	if err != nil {
		r.t.Fatalf("delivering a request: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "null" {
		r.t.Errorf("the create function answered %s to a request event, want null", got)
	}
}

// deliverForRetry invokes the create binary with an event whose outcome
// cannot be published: the invocation must fail, so that Lambda retries it.
func (r *pipeline) deliverForRetry(event []byte) {
	r.t.Helper()
	out, err := r.st.Functions["CreateFunction"].Invoke(r.ctx, event)
	assertNoSecrets(r.t, "the create function's error", out, r.secrets)
	var fe *FunctionError
	if !errors.As(err, &fe) {
		r.t.Fatalf("a request whose outcome was not published: Invoke() error = %v, want the function's error", err)
	}
}

// outcomesOf decodes the details of the outcome events of one detail type
// (source ddconn), in the order they were put.
func outcomesOf[T any](r *pipeline, detailType string) []T {
	r.t.Helper()
	var out []T
	for _, e := range r.st.Bus.EventsOf(provisioning.OutcomeSource, detailType) {
		var d T
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			r.t.Fatalf("decoding %q event %s: %v", detailType, e.ID, err)
		}
		out = append(out, d)
	}
	return out
}

// sameOutcomes checks that the bus holds want outcomes of detailType and
// that each answers request id with the same key and secret, which ids
// reads from an outcome (its requestId, key id and secret ARN); it returns
// the first.
func sameOutcomes[T any](r *pipeline, detailType, id string, want int, ids func(T) (requestID, keyID, secretARN string)) T {
	r.t.Helper()
	outs := outcomesOf[T](r, detailType)
	if len(outs) != want {
		r.t.Fatalf("the bus has %d %s events, want %d", len(outs), detailType, want)
	}
	_, firstKey, firstSecret := ids(outs[0])
	for i, o := range outs {
		if requestID, keyID, secretARN := ids(o); requestID != id || keyID != firstKey || secretARN != firstSecret {
			r.t.Errorf("%s #%d: requestId %q, key %q, secret %q; want %q and the same key and secret each time",
				detailType, i+1, requestID, keyID, secretARN, id)
		}
	}
	return outs[0]
}

// keyDocument reads the secret of a managed key of kind (secretkind.AppKey
// or secretkind.APIKey) and adds its key to the secrets that must not leak.
func (r *pipeline) keyDocument(kind secretkind.Kind, arn string) secretkind.Document {
	r.t.Helper()
	doc, err := kind.Parse(r.secretValue(arn))
	if err != nil {
		r.t.Fatal(err)
	}
	r.secrets = append(r.secrets, doc.Key)
	return doc
}

func (r *pipeline) secretValue(arn string) string {
	r.t.Helper()
	v, err := r.store.Get(r.ctx, arn, "", secretstore.Current)
	if err != nil {
		r.t.Fatalf("reading %s: %v", arn, err)
	}
	return v.Value
}

// keyNamePrefix starts the names of the Datadog keys ddconn creates for n,
// whose secret (or any secret of the stack) is arn.
func keyNamePrefix(n secretkind.Name, arn string) string {
	return n.DatadogKeyNamePrefix(secretkind.KeyScope(config.DefaultSecretPrefix, arn))
}

// appKeyIDs lists the ids of the Datadog application keys whose names
// start with prefix, as the simulator holds them.
func (r *pipeline) appKeyIDs(prefix string) []string {
	var ids []string
	for _, k := range r.st.Simulator.Keys() {
		if strings.HasPrefix(k.Name, prefix) {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// apiKeyIDs lists the ids of the organisation's API keys whose names start
// with prefix, through Datadog's API.
func (r *pipeline) apiKeyIDs(prefix string) []string {
	r.t.Helper()
	keys, err := r.dd.ListAPIKeys(r.ctx, r.creds)
	if err != nil {
		r.t.Fatalf("listing API keys: %v", err)
	}
	var ids []string
	for _, k := range keys {
		if strings.HasPrefix(k.Name, prefix) {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// assertSecretCount checks how many secrets are named with prefix.
func (r *pipeline) assertSecretCount(prefix string, want int) {
	r.t.Helper()
	if got := r.secretNames(prefix); len(got) != want {
		r.t.Errorf("secrets under %s: %v, want %d", prefix, got, want)
	}
}

// secretNames lists the names of the secrets named with prefix.
func (r *pipeline) secretNames(prefix string) []string {
	r.t.Helper()
	var names []string
	cursor := ""
	for {
		page, next, err := r.store.List(r.ctx, prefix, 100, cursor)
		if err != nil {
			r.t.Fatalf("listing secrets: %v", err)
		}
		for _, s := range page {
			names = append(names, s.Name)
		}
		if next == "" {
			slices.Sort(names)
			return names
		}
		cursor = next
	}
}

// standIns is what the stand-ins hold, by name and id, without values.
type standIns struct {
	Secrets, AppKeys, APIKeys []string
}

func (r *pipeline) snapshot() standIns {
	var s standIns
	s.Secrets = r.secretNames("ddconn/")
	for _, k := range r.st.Simulator.Keys() {
		s.AppKeys = append(s.AppKeys, k.ID)
	}
	s.APIKeys = r.apiKeyIDs("")
	slices.Sort(s.AppKeys)
	slices.Sort(s.APIKeys)
	return s
}

func (s standIns) equal(o standIns) bool {
	return slices.Equal(s.Secrets, o.Secrets) && slices.Equal(s.AppKeys, o.AppKeys) && slices.Equal(s.APIKeys, o.APIKeys)
}

// newEventID is a random UUID, as EventBridge gives each event.
func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
