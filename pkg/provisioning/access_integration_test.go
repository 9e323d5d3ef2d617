package provisioning_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/logcapture"
	"github.com/ddconn/ddconn/internal/testkit"
	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/provisioning"
)

// The accounts of the access tests: team-a's, team-b's and one the policy
// does not know.
const (
	teamAAccount    = "222222222222"
	teamBAccount    = "333333333333"
	unmappedAccount = "444444444444"
)

const accessPolicy = `{"teams": {
  "team-a": {"accounts": ["` + teamAAccount + `"], "buses": ["team-a-requests"]},
  "team-b": {"accounts": ["` + teamBAccount + `"], "buses": ["team-b-requests"]}
}}`

// home is where the access tests' ddconn runs; the rules of its team buses
// are rule/<bus>/ddconn-provisioning there.
var home = provisioning.Home{Partition: "aws", Region: "us-east-1", Account: "111111111111"}

// sender is how a request reaches the processor: from an account through
// the stack's bus (rule ""), or delivered by a team bus's rule.
type sender struct {
	name, account, rule string
}

func (s sender) deliver(ctx context.Context, p *provisioning.Processor, ev events.EventBridgeEvent) error {
	ev.AccountID = s.account
	if s.rule == "" {
		return p.Handle(ctx, ev)
	}
	return p.HandleBusDelivery(ctx, home, provisioning.BusDelivery{RuleARN: s.rule, Event: ev})
}

var (
	viaTeamAAccount = sender{"team-a's account", teamAAccount, ""}
	// viaTeamABus comes from an account the policy maps to no team: the
	// bus alone attributes it.
	viaTeamABus = sender{"team-a's bus", unmappedAccount, "arn:aws:events:us-east-1:111111111111:rule/team-a-requests/ddconn-provisioning"}
	refused     = []sender{
		{"team-b's account", teamBAccount, ""},
		{"an unmapped account", unmappedAccount, ""},
		{"team-b's bus, from team-a's account", teamAAccount, "arn:aws:events:us-east-1:111111111111:rule/team-b-requests/ddconn-provisioning"},
		{"a rule of another account on a bus named as team-a's", teamAAccount, "arn:aws:events:us-east-1:555555555555:rule/team-a-requests/ddconn-provisioning"},
		{"a rule of another region on team-a's bus", teamAAccount, "arn:aws:events:eu-west-1:111111111111:rule/team-a-requests/ddconn-provisioning"},
		{"a transformer rule on the default bus, named as team-a's bus", teamAAccount, "arn:aws:events:us-east-1:111111111111:rule/team-a-requests"},
	}
)

// outcomes records what a Processor publishes.
type outcomes struct {
	mu     sync.Mutex
	events []failedOrDone
}

type failedOrDone struct {
	detailType string
	reason     string
}

func (o *outcomes) Publish(_ context.Context, detailType string, detail any, _ ...string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	raw, _ := json.Marshal(detail)
	var f struct{ Reason string }
	_ = json.Unmarshal(raw, &f)
	o.events = append(o.events, failedOrDone{detailType, f.Reason})
	return "id", nil
}

func (o *outcomes) last() failedOrDone {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.events[len(o.events)-1]
}

// fingerprint is every secret (name, versions, tags) and every Datadog key.
func (e *env) fingerprint() string {
	e.t.Helper()
	var b strings.Builder
	page, _, err := e.st.Store.ListIncludingDeletedByName(context.Background(), "", 100, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range page {
		fmt.Fprintf(&b, "%s %v %v\n", s.Name, s.Versions, slices.Sorted(maps.Keys(s.Tags)))
	}
	keys := e.st.Simulator.Keys()
	slices.SortFunc(keys, func(a, b ddsim.KeyInfo) int { return strings.Compare(a.ID, b.ID) })
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", k.ID, k.Name)
	}
	return b.String()
}

// TestProvisioningAttribution sends the four request kinds against team-a's
// connections from team-a's account, through team-a's own bus from an
// unmapped account, and from every sender of refused: only team-a's account
// and team-a's bus are carried out; the others are refused with reason
// forbidden, change nothing, and are audited as refused.
func TestProvisioningAttribution(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []string{platform, keysConn} {
		team := "team-a"
		if _, err := e.st.Service.Update(ctx, c, connection.UpdateInput{Team: &team}); err != nil {
			t.Fatal(err)
		}
	}
	policy, err := access.ParsePolicy([]byte(accessPolicy))
	if err != nil {
		t.Fatal(err)
	}
	pub := &outcomes{}
	// processor is the create function's, auditing into audit.
	processor := func(audit *logcapture.Buffer) *provisioning.Processor {
		return provisioning.New(e.st.Service, e.st.ManagedKeys, e.st.Store, provisioning.Options{
			Prefix: prefix, Publisher: pub, Policy: access.Static{P: policy}, Audit: slog.New(slog.NewJSONHandler(audit, nil)),
		})
	}
	teamStaged := e.stage("team-a/new", stagedKeys(ddsim.DemoAPIKey, ddsim.DemoAppKey))
	requests := []struct {
		name string
		ev   func(id string) events.EventBridgeEvent
		done string
	}{
		{"provision an application key", func(id string) events.EventBridgeEvent {
			return request(id, provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{Connection: platform,
				MintInput: managedkey.MintInput{Name: "checkout", ServiceAccountID: ddsim.DemoMetricsWriterID, Scopes: []string{"metrics_read"}}})
		}, provisioning.ApplicationKeyProvisioned},
		{"provision an API key", func(id string) events.EventBridgeEvent {
			return request(id, provisioning.ProvisionAPIKey, provisioning.ProvisionAPIKeyDetail{Connection: keysConn,
				APIKeyInput: managedkey.APIKeyInput{Name: "agent", Readers: []string{teamAAccount}}})
		}, provisioning.APIKeyProvisioned},
		{"delete a managed key", func(id string) events.EventBridgeEvent {
			return request(id, provisioning.DeleteManagedKey, provisioning.DeleteManagedKeyDetail{Connection: platform,
				Kind: provisioning.KindApplicationKey, Name: "checkout"})
		}, provisioning.ManagedKeyDeleted},
		{"create a connection in team-a", func(id string) events.EventBridgeEvent {
			return request(id, provisioning.CreateConnection, provisioning.CreateConnectionDetail{Name: "new", Team: "team-a",
				URL: "datadoghq.com", CredentialsSecretARN: teamStaged})
		}, provisioning.ConnectionCreated},
	}
	for i, r := range requests {
		// Half the requests are carried out through team-a's account, half
		// through its bus.
		allowed := viaTeamAAccount
		if i%2 == 1 {
			allowed = viaTeamABus
		}
		for j, s := range append(slices.Clone(refused), allowed) {
			ev := r.ev(fmt.Sprintf("0a0b0c0d-0000-4000-8000-%012d", i*10+j))
			before := e.fingerprint()
			audit := &logcapture.Buffer{}
			if err := s.deliver(ctx, processor(audit), ev); err != nil {
				t.Fatalf("%s from %s: %v", r.name, s.name, err)
			}
			got := pub.last()
			switch {
			case s == allowed && got.detailType != r.done:
				t.Errorf("%s from %s: %+v, want %s", r.name, s.name, got, r.done)
			case s != allowed && (got.detailType != provisioning.ProvisioningFailed || got.reason != provisioning.ReasonForbidden):
				t.Errorf("%s from %s: %+v, want Provisioning Failed, forbidden", r.name, s.name, got)
			case s != allowed && e.fingerprint() != before:
				t.Errorf("%s from %s: refused, yet the stand-ins changed", r.name, s.name)
			}
			wantOutcome := access.OutcomeRefused
			if s == allowed {
				wantOutcome = access.OutcomeAllowed
			}
			if !strings.Contains(audit.String(), `"audit":true`) || !strings.Contains(audit.String(), `"outcome":"`+wantOutcome+`"`) ||
				!strings.Contains(audit.String(), `"account":"`+s.account+`"`) {
				t.Errorf("%s from %s: audit %s, want one %s record", r.name, s.name, audit.String(), wantOutcome)
			}
			if s == viaTeamABus && !strings.Contains(audit.String(), `"bus":"team-a-requests"`) {
				t.Errorf("%s from %s: audit %s does not name the bus", r.name, s.name, audit.String())
			}
			testkit.AssertNoKeyMaterial(t, audit.String(), e.secrets...)
		}
	}

	// The API key's reader, in team-a's own account, has its grant; a
	// reader in another team's account is refused and changes nothing.
	if grants := e.st.KMS.Grants(e.st.KMSKeyID); len(grants) != 1 || grants[0].GranteePrincipal != "arn:aws:iam::"+teamAAccount+":root" {
		t.Errorf("grants after provisioning an API key read by team-a's account: %+v", grants)
	}
	foreign := request("0a0b0c0d-0000-4000-8000-000000000998", provisioning.ProvisionApplicationKey, provisioning.ProvisionApplicationKeyDetail{
		Connection: platform, MintInput: managedkey.MintInput{Name: "shared", ServiceAccountID: ddsim.DemoMetricsWriterID,
			Scopes: []string{"metrics_read"}, Readers: []string{teamBAccount}}})
	foreign.AccountID = teamAAccount
	before := e.fingerprint()
	if err := processor(&logcapture.Buffer{}).Handle(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if got := pub.last(); got.detailType != provisioning.ProvisioningFailed || got.reason != provisioning.ReasonForbidden || e.fingerprint() != before {
		t.Errorf("a key read from another team's account: %+v, want Provisioning Failed, forbidden, and no change", got)
	}

	// A team's connection may only come from its own staging path.
	other := e.stage("elsewhere", stagedKeys(ddsim.DemoAPIKey, ddsim.DemoAppKey))
	ev := request("0a0b0c0d-0000-4000-8000-000000000999", provisioning.CreateConnection, provisioning.CreateConnectionDetail{
		Name: "stray", Team: "team-a", URL: "datadoghq.com", CredentialsSecretARN: other})
	ev.AccountID = teamAAccount
	if err := processor(&logcapture.Buffer{}).Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := pub.last(); got.reason != provisioning.ReasonInvalidRequest {
		t.Errorf("a team's connection from another staging path: %+v, want invalid-request", got)
	}
}
