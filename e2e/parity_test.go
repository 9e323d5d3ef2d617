//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/internal/testkit"
)

// parityStep is one request TestParityWithDevStack sends to both stacks.
type parityStep struct {
	name  string
	route string // "METHOD /pattern", as template.yaml routes it
	path  string
	body  string
	// idle waits for the rotations the request starts (the configuration
	// test Secrets Manager runs after RotateSecret) before the next step.
	idle bool
	// racy names fields whose value depends on how far those rotations
	// got when the answer was made (rotation.inProgress of a new key or of
	// a connection whose rotation settings were just put: the
	// configuration test's temporary AWSPENDING); they are not compared.
	racy []string
	// pause is how long to wait before sending the request, on both
	// stacks: a rotate-now waits out MinRotateInterval after the rotation
	// before it.
	pause time.Duration
}

// apiKeysKey stands, in a parityStep's body, for the stack's own
// application key with apiKeysScopes.
const apiKeysKey = "${apiKeysKey}"

// bodyWith is the step's body for the stack whose apiKeysKey is key; nil
// when the step has none.
func (s parityStep) bodyWith(key string) []byte {
	if s.body == "" {
		return nil
	}
	return []byte(strings.ReplaceAll(s.body, apiKeysKey, key))
}

// TestParityWithDevStack sends the same requests through the shipped
// binaries under the RIE and through `make dev`'s server (internal/devstack,
// over HTTP), both against a freshly seeded demo organisation, and checks
// that the answers are equal: status, Location and the JSON body, apart
// from what two stacks cannot share - ids, ARNs, version ids, request ids
// and times (see parityNormaliser).
func TestParityWithDevStack(t *testing.T) {
	rie := newStack(t)
	dev := newDevStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Each simulator gets its own application key that may also manage API
	// keys; a step's body names it as apiKeysKey.
	rieKey, _ := rie.Simulator.AddAppKey(ddsim.DemoRotatorID, "parity-api-keys", apiKeysScopes())
	devKey, _ := dev.Simulator.AddAppKey(ddsim.DemoRotatorID, "parity-api-keys", apiKeysScopes())
	secrets := []string{ddsim.DemoAPIKey, ddsim.DemoAppKey, rieKey, devKey}

	creds := fmt.Sprintf(`{"url":"https://api.%s","apiKey":%q,"applicationKey":%q}`, ddsim.DemoSite, ddsim.DemoAPIKey, ddsim.DemoAppKey)
	keys := connPath + "/application-keys"
	apiKeys := connPath + "/api-keys"
	steps := []parityStep{
		{name: "create", route: "POST /connections", path: "/connections",
			body: `{"name":"` + connName + `","description":"parity","credentials":` + creds + `}`},
		{name: "create again", route: "POST /connections", path: "/connections",
			body: `{"name":"` + connName + `","credentials":` + creds + `}`},
		{name: "get", route: "GET /connections/{name}", path: connPath},
		{name: "get missing", route: "GET /connections/{name}", path: "/connections/missing"},
		{name: "list", route: "GET /connections", path: "/connections"},
		{name: "validate credentials", route: "POST /connections/validate", path: "/connections/validate",
			body: `{"credentials":` + creds + `}`},
		{name: "validate connection", route: "POST /connections/{name}/validate", path: connPath + "/validate"},
		{name: "service accounts", route: "GET /connections/{name}/service-accounts", path: connPath + "/service-accounts"},
		{name: "rotation settings", route: "PUT /connections/{name}/rotation", path: connPath + "/rotation",
			body: rotationSettings, idle: true, racy: []string{"inProgress"}},
		{name: "get with rotation", route: "GET /connections/{name}", path: connPath},
		{name: "invalid rotation settings", route: "PUT /connections/{name}/rotation", path: connPath + "/rotation",
			body: `{"schedule":"every tuesday"}`},
		{name: "mint application key", route: "POST /connections/{name}/application-keys", path: keys,
			body: `{"name":"parity","serviceAccountId":"` + ddsim.DemoMetricsWriterID + `","scopes":["metrics_read"]}`, idle: true,
			racy: []string{"inProgress"}},
		{name: "list application keys", route: "GET /connections/{name}/application-keys", path: keys},
		{name: "get application key", route: "GET /connections/{name}/application-keys/{key}", path: keys + "/parity"},
		{name: "delete application key", route: "DELETE /connections/{name}/application-keys/{key}", path: keys + "/parity"},
		{name: "get deleted application key", route: "GET /connections/{name}/application-keys/{key}", path: keys + "/parity"},
		{name: "list after delete", route: "GET /connections/{name}/application-keys", path: keys},
		{name: "patch description", route: "PATCH /connections/{name}", path: connPath, body: `{"description":"parity, patched"}`},
		{name: "patch allowed service accounts", route: "PATCH /connections/{name}", path: connPath,
			body: `{"allowedServiceAccounts":["` + ddsim.DemoMetricsWriterID + `"]}`},
		{name: "patch credentials", route: "PATCH /connections/{name}", path: connPath,
			body: `{"credentials":` + strings.Replace(creds, ddsim.DemoAppKey, apiKeysKey, 1) + `}`},
		{name: "patch rename", route: "PATCH /connections/{name}", path: connPath, body: `{"name":"other"}`},
		{name: "patch nothing", route: "PATCH /connections/{name}", path: connPath, body: `{}`},
		{name: "patch missing", route: "PATCH /connections/{name}", path: "/connections/missing", body: `{"description":"x"}`},
		{name: "mint api key", route: "POST /connections/{name}/api-keys", path: apiKeys,
			body: `{"name":"parity","rotation":{"schedule":"rate(7 days)"}}`, idle: true, racy: []string{"inProgress"}},
		{name: "mint api key again", route: "POST /connections/{name}/api-keys", path: apiKeys, body: `{"name":"parity"}`},
		{name: "invalid api key", route: "POST /connections/{name}/api-keys", path: apiKeys, body: `{"name":"parity","scopes":[]}`},
		{name: "list api keys", route: "GET /connections/{name}/api-keys", path: apiKeys},
		{name: "get api key", route: "GET /connections/{name}/api-keys/{key}", path: apiKeys + "/parity"},
		{name: "delete api key", route: "DELETE /connections/{name}/api-keys/{key}", path: apiKeys + "/parity"},
		{name: "get deleted api key", route: "GET /connections/{name}/api-keys/{key}", path: apiKeys + "/parity"},
		{name: "list api keys after delete", route: "GET /connections/{name}/api-keys", path: apiKeys},
		{name: "change rotation settings", route: "PUT /connections/{name}/rotation", path: connPath + "/rotation",
			body: `{"schedule":"rate(14 days)","window":"3h","revokePrevious":"immediately"}`, idle: true, racy: []string{"inProgress"}},
		{name: "rotate now", route: "POST /connections/{name}/rotate", path: connPath + "/rotate",
			idle: true, pause: MinRotateInterval},
		{name: "get after rotate now", route: "GET /connections/{name}", path: connPath},
		{name: "rotate missing", route: "POST /connections/{name}/rotate", path: "/connections/missing/rotate"},
		{name: "disable rotation", route: "DELETE /connections/{name}/rotation", path: connPath + "/rotation"},
		{name: "rotate without rotation", route: "POST /connections/{name}/rotate", path: connPath + "/rotate"},
		{name: "get after disabling rotation", route: "GET /connections/{name}", path: connPath},
	}
	rieNorm, devNorm := newParityNormaliser(), newParityNormaliser()
	for _, s := range steps {
		fn := functionFor(t, s.route)
		time.Sleep(s.pause)
		got, err := InvokeHTTP(ctx, rie.Functions[fn], s.route, s.path, s.bodyWith(rieKey))
		if err != nil {
			t.Fatalf("%s through %s: %v", s.name, fn, err)
		}
		want := devCall(ctx, t, dev.APIURL, s.route, s.path, s.bodyWith(devKey))
		if s.idle {
			waitIdle(ctx, t, rie)
			if err := dev.Emulator.WaitIdle(ctx); err != nil {
				t.Fatalf("waiting for make dev's rotation: %v", err)
			}
		}
		t.Run(s.name, func(t *testing.T) {
			testkit.AssertNoKeyMaterial(t, got.Body, secrets...)
			testkit.AssertNoKeyMaterial(t, want.Body, secrets...)
			rie, dev := rieNorm.answer(t, got), devNorm.answer(t, want)
			for _, f := range s.racy {
				dropField(rie.Body, f)
				dropField(dev.Body, f)
			}
			if !reflect.DeepEqual(rie, dev) {
				t.Errorf("%s %s: %s under the RIE and make dev answer differently:\nRIE:      %s\nmake dev: %s", s.route, s.path, fn, rie, dev)
			}
		})
	}
}

// newDevStack starts what `make dev` starts (internal/devstack, with the
// rotate function in-process) on random ports, seeded with the demo
// organisation, with the e2e stack's rotation retry settings and minimum
// interval between rotations.
func newDevStack(t *testing.T) *devstack.Stack {
	t.Helper()
	st := devstack.StartTest(t, devstack.Options{
		SeedDemo:          true,
		RotationFunction:  devstack.RotationFunction(devstack.SimulatorActivation),
		RetryInterval:     50 * time.Millisecond,
		MinRotateInterval: MinRotateInterval,
		Emulator:          smemu.Options{MaxAttempts: 3, TickInterval: 50 * time.Millisecond},
	})
	return st
}

// devCall sends one request to make dev's API and returns its answer in
// the shape InvokeHTTP returns the functions'.
func devCall(ctx context.Context, t *testing.T, api, route, path string, body []byte) HTTPResponse {
	t.Helper()
	method, _, _ := strings.Cut(route, " ")
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on make dev's server: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	return HTTPResponse{Status: resp.StatusCode, Headers: headers, Body: b}
}

// functionFor returns the logical id of the function template.yaml routes
// route ("METHOD /pattern") to.
func functionFor(t *testing.T, route string) string {
	t.Helper()
	for _, id := range template.Functions() {
		events, _ := template.FunctionProperties(id)["Events"].(map[string]any)
		for _, ev := range events {
			e, _ := ev.(map[string]any)
			p, _ := e["Properties"].(map[string]any)
			if e["Type"] == "HttpApi" && fmt.Sprint(p["Method"], " ", p["Path"]) == route {
				return id
			}
		}
	}
	t.Fatalf("template.yaml routes %q to no function", route)
	return ""
}

// normalisedAnswer is an answer with what differs between two stacks by
// nature replaced by placeholders.
type normalisedAnswer struct {
	Status   int
	Location string
	Body     any
}

func (a normalisedAnswer) String() string {
	b, _ := json.Marshal(a.Body)
	return fmt.Sprintf("%d location=%q %s", a.Status, a.Location, b)
}

// parityNormaliser replaces, in one stack's answers, the values two stacks
// cannot share. Ids, version ids and request ids become numbered
// placeholders in the order they first appear, so that an id repeated
// across answers (the key a mint answered, then listed) must repeat in both
// stacks; secret ARNs keep only the secret's name (the region, account and
// random suffix differ); times keep only whether they are set.
type parityNormaliser struct {
	ids map[string]string
}

func newParityNormaliser() *parityNormaliser { return &parityNormaliser{ids: map[string]string{}} }

var (
	secretARN = regexp.MustCompile(`arn:aws:secretsmanager:[^:]+:[0-9]+:secret:([^"\s]+?)-[A-Za-z0-9]{6}\b`)
	otherARN  = regexp.MustCompile(`arn:aws:[a-z0-9-]+:[^"\s]*`)
	uuid      = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
)

func (n *parityNormaliser) answer(t *testing.T, r HTTPResponse) normalisedAnswer {
	t.Helper()
	a := normalisedAnswer{Status: r.Status, Location: n.text(r.Headers["Location"])}
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return a
	}
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("answer %d is not JSON: %v", r.Status, err)
	}
	a.Body = n.value("", body)
	return a
}

// value normalises a decoded JSON value found under field; maps are walked
// in key order so placeholders are numbered the same way in both stacks.
func (n *parityNormaliser) value(field string, v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out[k] = n.value(k, v[k])
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = n.value(field, e)
		}
		return out
	case string:
		return n.field(field, v)
	default:
		return v
	}
}

func (n *parityNormaliser) field(name, v string) string {
	lower := strings.ToLower(name)
	switch {
	case v == "":
		return v
	case strings.HasSuffix(name, "At") || lower == "deletiondate" || lower == "time":
		return "<time>"
	case lower == "last4":
		return "<last4>"
	case lower == "id" || strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "ID"):
		return n.placeholder(v)
	}
	return n.text(v)
}

// text normalises ARNs and UUIDs inside a string.
func (n *parityNormaliser) text(s string) string {
	s = secretARN.ReplaceAllString(s, "<secret $1>")
	s = otherARN.ReplaceAllString(s, "<arn>")
	return uuid.ReplaceAllStringFunc(s, n.placeholder)
}

func (n *parityNormaliser) placeholder(v string) string {
	if p, ok := n.ids[v]; ok {
		return p
	}
	p := fmt.Sprintf("<id %d>", len(n.ids)+1)
	n.ids[v] = p
	return p
}

// dropField removes field from every object in a decoded JSON value.
func dropField(v any, field string) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, field)
		for _, e := range v {
			dropField(e, field)
		}
	case []any:
		for _, e := range v {
			dropField(e, field)
		}
	}
}
