package provisioning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

// TestCreateConnectionThroughTheBus delivers a request as EventBridge does
// - through the rule - and follows it to its outcome.
func TestCreateConnectionThroughTheBus(t *testing.T) {
	e := newEnv(t)
	arn := e.stage("prod", stagedKeys(ddsim.DemoAPIKey, ddsim.DemoAppKey))
	ev := request("5b9f0c3e-1d2a-4c8b-9e7f-0a1b2c3d4e5f", provisioning.CreateConnection, provisioning.CreateConnectionDetail{
		Name: "prod", Description: "from the pipeline", URL: "https://api.datadoghq.com", CredentialsSecretARN: arn, DeleteSourceSecret: true,
	})
	raw, _ := json.Marshal(ev)
	if _, err := e.st.Bus.Inject(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Bus.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := e.outcomes(ev.ID)
	if len(out) != 1 || out[0].DetailType != provisioning.ConnectionCreated || out[0].Source != provisioning.OutcomeSource {
		t.Fatalf("outcomes %s, want one Connection Created", describe(out))
	}
	var d provisioning.ConnectionCreatedDetail
	if err := json.Unmarshal(out[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.Connection.Name != "prod" || d.Connection.Site != "US1" || !d.SourceSecretDeleted || out[0].Resources[0] != d.Connection.SecretARN {
		t.Fatalf("Connection Created %+v", d)
	}
	if e.secretExists(prefix + provisioning.StagingPrefix + "prod") {
		t.Fatal("the staging secret is still there")
	}
	if _, err := e.st.Service.Get(context.Background(), "prod"); err != nil {
		t.Fatalf("the connection is not readable: %v", err)
	}
}

// TestDuplicateDeliveries delivers every kind of request two and three
// times at once: one secret, one key, the same outcome each time.
func TestDuplicateDeliveries(t *testing.T) {
	kinds := []struct {
		name string
		// run delivers the request n times and checks the result.
		run func(t *testing.T, e *env, id string, n int)
	}{
		{"create connection", func(t *testing.T, e *env, id string, n int) {
			arn := e.stage("dup", stagedKeys(ddsim.DemoAPIKey, ddsim.DemoAppKey))
			mustSucceed(t, e.deliver(request(id, provisioning.CreateConnection, provisioning.CreateConnectionDetail{
				Name: "dup", URL: "datadoghq.com", CredentialsSecretARN: arn, DeleteSourceSecret: true}), n))
			page, err := e.st.Service.List(context.Background(), 0, "")
			if err != nil || len(page.Connections) != 3 {
				t.Fatalf("%d connections (%v), want platform, keys and dup", len(page.Connections), err)
			}
			sameOutcome(t, e, id, n, provisioning.ConnectionCreated, "connection", "secretArn")
		}},
		{"provision application key", func(t *testing.T, e *env, id string, n int) {
			mustSucceed(t, e.deliver(request(id, provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{
				Connection: platform, MintInput: managedkey.MintInput{Name: "checkout", ServiceAccountID: ddsim.DemoMetricsWriterID,
					Scopes: []string{"metrics_read"}, IncludeAPIKey: true}}), n))
			if got := e.appKeysNamed(platform, "checkout"); got != 1 {
				t.Fatalf("%d keys in Datadog, want 1", got)
			}
			keys, err := e.st.ManagedKeys.List(context.Background(), platform)
			if err != nil || len(keys) != 1 {
				t.Fatalf("%d managed keys (%v), want 1", len(keys), err)
			}
			sameOutcome(t, e, id, n, provisioning.ApplicationKeyProvisioned, "key", "applicationKeyId")
		}},
		{"provision API key", func(t *testing.T, e *env, id string, n int) {
			mustSucceed(t, e.deliver(request(id, provisioning.ProvisionAPIKey, provisioning.ProvisionAPIKeyDetail{
				Connection: keysConn, APIKeyInput: managedkey.APIKeyInput{Name: "agent"}}), n))
			if got := e.apiKeysNamed(keysConn, "agent"); got != 1 {
				t.Fatalf("%d API keys in Datadog, want 1", got)
			}
			keys, err := e.st.ManagedKeys.ListAPIKeys(context.Background(), keysConn)
			if err != nil || len(keys) != 1 {
				t.Fatalf("%d managed API keys (%v), want 1", len(keys), err)
			}
			sameOutcome(t, e, id, n, provisioning.APIKeyProvisioned, "key", "apiKeyId")
		}},
		{"delete managed key", func(t *testing.T, e *env, id string, n int) {
			if _, err := e.st.ManagedKeys.Mint(context.Background(), platform, managedkey.MintInput{Name: "gone",
				ServiceAccountID: ddsim.DemoMetricsWriterID, Scopes: []string{"metrics_read"}}); err != nil {
				t.Fatal(err)
			}
			mustSucceed(t, e.deliver(request(id, provisioning.DeleteManagedKey, provisioning.DeleteManagedKeyDetail{
				Connection: platform, Kind: provisioning.KindApplicationKey, Name: "gone"}), n))
			if got := e.appKeysNamed(platform, "gone"); got != 0 {
				t.Fatalf("%d keys left in Datadog, want 0", got)
			}
			if e.secretExists(prefix + "keys/" + platform + "/gone") {
				t.Fatal("the managed key's secret is still there")
			}
			if out := e.outcomes(id); len(out) != n || out[0].DetailType != provisioning.ManagedKeyDeleted {
				t.Fatalf("outcomes %s, want %d Managed Key Deleted", describe(out), n)
			}
		}},
	}
	for _, k := range kinds {
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s %dx", k.name, n), func(t *testing.T) {
				e := newEnv(t)
				k.run(t, e, fmt.Sprintf("0000000%d-dup0-4000-8000-000000000000", n), n)
			})
		}
	}
}

// sameOutcome checks that request id produced n outcomes of detailType
// that all name the same object (detail[object][field]).
func sameOutcome(t *testing.T, e *env, id string, n int, detailType, object, field string) {
	t.Helper()
	out := e.outcomes(id)
	if len(out) != n {
		t.Fatalf("outcomes %s, want %d %s", describe(out), n, detailType)
	}
	var first string
	for _, ev := range out {
		var d map[string]json.RawMessage
		var obj map[string]any
		if ev.DetailType != detailType || json.Unmarshal(ev.Detail, &d) != nil || json.Unmarshal(d[object], &obj) != nil {
			t.Fatalf("outcome %s %s, want %s", ev.DetailType, ev.Detail, detailType)
		}
		got := fmt.Sprint(obj[field])
		if first == "" {
			first = got
		}
		if got != first || got == "" {
			t.Fatalf("outcomes name %q and %q: not the same %s", first, got, object)
		}
	}
}

// TestFailuresLeaveNothingBehind runs each way a request fails: it is
// answered with Provisioning Failed and its reason, is retried only when a
// service was unavailable, and leaves no key and no secret.
func TestFailuresLeaveNothingBehind(t *testing.T) {
	mint := func(name, sa string, scopes ...string) provisioning.ProvisionApplicationKeyDetail {
		return provisioning.ProvisionApplicationKeyDetail{Connection: platform,
			MintInput: managedkey.MintInput{Name: name, ServiceAccountID: sa, Scopes: scopes}}
	}
	tests := []struct {
		name       string
		setup      func(e *env) (detailType string, detail any)
		wantReason string
		// secret is a secret that must not exist afterwards ("" = none).
		secret string
	}{
		{"unscoped key refused", func(*env) (string, any) {
			return provisioning.ProvisionApplicationKey, mint("wide", ddsim.DemoMetricsWriterID)
		}, provisioning.ReasonInvalidRequest, "keys/platform/wide"},
		{"service account not allowed", func(e *env) (string, any) {
			only := []string{ddsim.DemoRotatorID}
			if _, err := e.st.Service.Update(context.Background(), platform, connection.UpdateInput{AllowedServiceAccounts: &only}); err != nil {
				e.t.Fatal(err)
			}
			return provisioning.ProvisionApplicationKey, mint("wide", ddsim.DemoMetricsWriterID, "metrics_read")
		}, provisioning.ReasonServiceAccountNotAllowed, "keys/platform/wide"},
		{"disabled service account", func(e *env) (string, any) {
			e.st.Simulator.SetUserDisabled(ddsim.DemoMetricsWriterID, true)
			return provisioning.ProvisionApplicationKey, mint("wide", ddsim.DemoMetricsWriterID, "metrics_read")
		}, provisioning.ReasonServiceAccountUnusable, "keys/platform/wide"},
		{"no such connection", func(*env) (string, any) {
			d := mint("wide", ddsim.DemoMetricsWriterID, "metrics_read")
			d.Connection = "nowhere"
			return provisioning.ProvisionApplicationKey, d
		}, provisioning.ReasonConnectionNotFound, "keys/nowhere/wide"},
		{"Datadog fails to mint", func(e *env) (string, any) {
			e.st.Simulator.AddFault(ddsim.Fault{Method: "POST", PathPrefix: "/api/v2/service_accounts/", Status: 500, Count: 100})
			return provisioning.ProvisionApplicationKey, mint("wide", ddsim.DemoMetricsWriterID, "metrics_read")
		}, provisioning.ReasonUnavailable, "keys/platform/wide"},
		{"Secrets Manager fails to store the minted key", func(e *env) (string, any) {
			e.st.Emulator.AddFault(smemu.Fault{Operation: "CreateSecret", Error: "InternalServiceError", Count: 100})
			return provisioning.ProvisionApplicationKey, mint("wide", ddsim.DemoMetricsWriterID, "metrics_read")
		}, provisioning.ReasonUnavailable, "keys/platform/wide"},
		{"connection key cannot manage API keys", func(*env) (string, any) {
			return provisioning.ProvisionAPIKey, provisioning.ProvisionAPIKeyDetail{Connection: platform,
				APIKeyInput: managedkey.APIKeyInput{Name: "agent"}}
		}, provisioning.ReasonPermissionDenied, "api-keys/platform/agent"},
		{"staging secret missing", func(*env) (string, any) {
			return provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: "prod", URL: "datadoghq.com",
				CredentialsSecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + prefix + "staging/none-AbCdEf"}
		}, provisioning.ReasonSourceSecretNotFound, "prod"},
		{"staging secret malformed", func(e *env) (string, any) {
			arn := e.stage("bad", `{"apiKey":"`+ddsim.DemoAPIKey+`"}`)
			return provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: "prod", URL: "datadoghq.com", CredentialsSecretARN: arn}
		}, provisioning.ReasonSourceSecretInvalid, "prod"},
		{"staging secret outside the staging prefix", func(e *env) (string, any) {
			sec, err := e.st.Store.Describe(context.Background(), prefix+platform)
			if err != nil {
				e.t.Fatal(err)
			}
			return provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: "copy", URL: "datadoghq.com", CredentialsSecretARN: sec.ARN}
		}, provisioning.ReasonInvalidRequest, "copy"},
		{"keys rejected by Datadog", func(e *env) (string, any) {
			arn := e.stage("wrong", stagedKeys("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef01234567"))
			return provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: "prod", URL: "datadoghq.com", CredentialsSecretARN: arn}
		}, provisioning.ReasonCredentialsRejected, "prod"},
		{"site not allowed", func(e *env) (string, any) {
			arn := e.stage("ssrf", stagedKeys(ddsim.DemoAPIKey, ddsim.DemoAppKey))
			return provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: "prod", URL: "http://169.254.169.254", CredentialsSecretARN: arn}
		}, provisioning.ReasonInvalidRequest, "prod"},
		{"connection name taken by another request", func(e *env) (string, any) {
			arn := e.stage("again", stagedKeys(ddsim.DemoAPIKey, ddsim.DemoAppKey))
			return provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: platform, URL: "datadoghq.com", CredentialsSecretARN: arn}
		}, provisioning.ReasonAlreadyExists, ""},
		{"unknown field", func(*env) (string, any) {
			return provisioning.ProvisionApplicationKey, map[string]any{"connection": platform, "name": "wide",
				"serviceAccountId": ddsim.DemoMetricsWriterID, "scopes": []string{"metrics_read"}, "scope": "typo"}
		}, provisioning.ReasonInvalidEvent, "keys/platform/wide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			keysBefore := len(e.st.Simulator.Keys())
			apiKeysBefore := e.apiKeysNamed(platform, "agent")
			detailType, detail := tt.setup(e)
			const id = "f00dfeed-0000-4000-8000-000000000001"
			err := e.st.Provisioning.Handle(context.Background(), request(id, detailType, detail))
			retryable := tt.wantReason == provisioning.ReasonUnavailable
			if errors.Is(err, provisioning.ErrRetry) != retryable || (err == nil) == retryable {
				t.Fatalf("Handle error = %v; want a retry exactly when a service was unavailable", err)
			}
			f := e.failure(id)
			if f.Reason != tt.wantReason || f.Message == "" || f.Request != detailType || f.Retryable != retryable {
				t.Fatalf("Provisioning Failed %+v, want reason %s", f, tt.wantReason)
			}
			e.st.Simulator.ClearFaults()
			e.st.Emulator.ClearFaults()
			if got := len(e.st.Simulator.Keys()); got != keysBefore {
				t.Fatalf("%d application keys in Datadog, %d before: the failure left a key", got, keysBefore)
			}
			if got := e.apiKeysNamed(platform, "agent"); got != apiKeysBefore {
				t.Fatalf("the failure left an API key")
			}
			if tt.secret != "" && e.secretExists(prefix+tt.secret) {
				t.Fatalf("the failure left the secret %s", tt.secret)
			}
		})
	}
}

// TestReplayAfterDeleteIsAnswered delivers a Provision request, deletes
// the key it minted with a Delete Managed Key request, then delivers the
// Provision request again (a late retry, a dead-letter replay): the replay
// is answered from the tombstone the delete left - Provisioning Failed,
// reason deleted, not retryable - and mints nothing. A new request for the
// same name still mints.
func TestReplayAfterDeleteIsAnswered(t *testing.T) {
	kinds := []struct {
		kind    string
		mint    events.EventBridgeEvent
		del     provisioning.DeleteManagedKeyDetail
		keys    func(e *env) int
		another events.EventBridgeEvent
	}{
		{"application key",
			request("0e8f7a1c-0000-4000-8000-00000000a001", provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{
				Connection: platform, MintInput: managedkey.MintInput{Name: "replayed", ServiceAccountID: ddsim.DemoMetricsWriterID, Scopes: []string{"metrics_read"}}}),
			provisioning.DeleteManagedKeyDetail{Connection: platform, Kind: provisioning.KindApplicationKey, Name: "replayed"},
			func(e *env) int { return e.appKeysNamed(platform, "replayed") },
			request("0e8f7a1c-0000-4000-8000-00000000a002", provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{
				Connection: platform, MintInput: managedkey.MintInput{Name: "replayed", ServiceAccountID: ddsim.DemoMetricsWriterID, Scopes: []string{"metrics_read"}}}),
		},
		{"API key",
			request("0e8f7a1c-0000-4000-8000-00000000b001", provisioning.ProvisionAPIKey, provisioning.ProvisionAPIKeyDetail{
				Connection: keysConn, APIKeyInput: managedkey.APIKeyInput{Name: "replayed"}}),
			provisioning.DeleteManagedKeyDetail{Connection: keysConn, Kind: provisioning.KindAPIKey, Name: "replayed"},
			func(e *env) int { return e.apiKeysNamed(keysConn, "replayed") },
			request("0e8f7a1c-0000-4000-8000-00000000b002", provisioning.ProvisionAPIKey, provisioning.ProvisionAPIKeyDetail{
				Connection: keysConn, APIKeyInput: managedkey.APIKeyInput{Name: "replayed"}}),
		},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			e := newEnv(t)
			mustSucceed(t, e.deliver(k.mint, 1))
			mustSucceed(t, e.deliver(request("0e8f7a1c-0000-4000-8000-0000000000de", provisioning.DeleteManagedKey, k.del), 1))
			if got := k.keys(e); got != 0 {
				t.Fatalf("%d keys after the delete, want 0", got)
			}

			if errs := e.deliver(k.mint, 1); errs[0] != nil {
				t.Fatalf("the replay asked to be delivered again: %v", errs[0])
			}
			if got := k.keys(e); got != 0 {
				t.Fatalf("the replay minted again: %d keys", got)
			}
			out := e.outcomes(k.mint.ID)
			var f provisioning.Failed
			if len(out) != 2 || out[1].DetailType != provisioning.ProvisioningFailed || json.Unmarshal(out[1].Detail, &f) != nil ||
				f.Reason != provisioning.ReasonDeleted || f.Retryable {
				t.Fatalf("outcomes %s; want the replay answered Provisioning Failed, reason %q, not retryable", describe(out), provisioning.ReasonDeleted)
			}

			mustSucceed(t, e.deliver(k.another, 1))
			if got := k.keys(e); got != 1 {
				t.Fatalf("a new request for the name minted %d keys, want 1", got)
			}
		})
	}
}
