package busemu

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// received records what a target was handed.
type received struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (r *received) Deliver(_ context.Context, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, payload)
	return nil
}

func (r *received) only(t *testing.T) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.payloads) != 1 {
		t.Fatalf("the target received %d payloads, want 1", len(r.payloads))
	}
	return r.payloads[0]
}

// TestInputTransformerRuleARNAndEvent is the template of a team bus's rule:
// the rule's ARN names its bus, and the whole envelope follows as JSON.
func TestInputTransformerRuleARNAndEvent(t *testing.T) {
	b := newBus(t, Options{Buses: []string{"team-a"}})
	got := &received{}
	if err := b.AddRule(Rule{Name: "requests", Bus: "team-a", Target: got, InputTransformer: &InputTransformer{
		InputTemplate: `{"ruleArn": <aws.events.rule-arn>, "event": <aws.events.event.json>}`}}); err != nil {
		t.Fatal(err)
	}
	e := validEntry()
	e.EventBusName = "team-a"
	if _, err := b.Put(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	var d struct {
		RuleARN string          `json:"ruleArn"`
		Event   json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(got.only(t), &d); err != nil {
		t.Fatalf("the rendered template is not JSON: %v", err)
	}
	if want := "arn:aws:events:us-east-1:123456789012:rule/team-a/requests"; d.RuleARN != want {
		t.Errorf("ruleArn %q, want %q", d.RuleARN, want)
	}
	if ev := b.Events()[0].JSON(); string(d.Event) != string(ev) {
		t.Errorf("event %s, want the envelope %s", d.Event, ev)
	}
	if arn := b.RuleARN(DefaultBus, "r"); arn != "arn:aws:events:us-east-1:123456789012:rule/r" {
		t.Errorf("a default bus's rule's ARN is %s", arn)
	}
}

// TestInputTransformerValues renders paths and predefined variables as
// JSON values and inside strings.
func TestInputTransformerValues(t *testing.T) {
	b := newBus(t, Options{})
	got := &received{}
	tmpl := `{"name": <name>, "says": "hi <name>, <n> \"<obj>\"", "obj": <obj>, "n": <n>, "missing": <missing>,
	  "rule": "<aws.events.rule-name>", "at": "<aws.events.event.ingestion-time>", "envelope": <aws.events.event>, "kept": "<other>"}`
	if err := b.AddRule(Rule{Name: "r", Target: got, InputTransformer: &InputTransformer{
		InputPathsMap: map[string]string{"name": "$.detail.name", "n": "$.detail.n", "obj": "$.detail.obj", "missing": "$.detail.none.deeper"},
		InputTemplate: tmpl}}); err != nil {
		t.Fatal(err)
	}
	e := validEntry()
	e.Detail = `{"name": "a \"b\"", "n": 3, "obj": {"k": "v"}}`
	if _, err := b.Put(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	var out map[string]any
	if err := json.Unmarshal(got.only(t), &out); err != nil {
		t.Fatalf("the rendered template is not JSON: %v\n%s", err, got.only(t))
	}
	want := map[string]any{
		"name": `a "b"`, "says": `hi a "b", 3 "{"k":"v"}"`, "obj": map[string]any{"k": "v"}, "n": 3.0, "missing": nil,
		"rule": "r", "at": "2025-03-04T05:06:07Z", "kept": "<other>",
	}
	for k, v := range want {
		g, _ := json.Marshal(out[k])
		w, _ := json.Marshal(v)
		if string(g) != string(w) {
			t.Errorf("%s = %s, want %s", k, g, w)
		}
	}
	env, _ := out["envelope"].(map[string]any)
	if _, hasDetail := env["detail"]; hasDetail || env["id"] == nil {
		t.Errorf("<aws.events.event> = %v, want the envelope without detail", env)
	}
}

func TestInputTransformerRefused(t *testing.T) {
	b := newBus(t, Options{})
	many := map[string]string{}
	for i := range maxInputPaths + 1 {
		many[strings.Repeat("v", i+1)] = "$.detail"
	}
	for name, it := range map[string]InputTransformer{
		"a text template":            {InputTemplate: `<aws.events.rule-arn> fired`},
		"an empty template":          {},
		"a reserved variable":        {InputPathsMap: map[string]string{"aws.mine": "$.detail"}, InputTemplate: `{}`},
		"an array index":             {InputPathsMap: map[string]string{"x": "$.resources[0]"}, InputTemplate: `{"x": <x>}`},
		"a path without $":           {InputPathsMap: map[string]string{"x": "detail.name"}, InputTemplate: `{"x": <x>}`},
		"the event inside a string":  {InputTemplate: `{"x": "<aws.events.event.json>"}`},
		"more than 100 variables":    {InputPathsMap: many, InputTemplate: `{}`},
		"a template over 8192 chars": {InputTemplate: `{"x": "` + strings.Repeat("x", maxInputTemplate) + `"}`},
	} {
		if err := b.AddRule(Rule{Name: "r", Target: &received{}, InputTransformer: &it}); err == nil {
			t.Errorf("%s: AddRule accepted %+v", name, it)
		}
	}
}

// TestInjectOn delivers through the rules of the named bus only.
func TestInjectOn(t *testing.T) {
	b := newBus(t, Options{Buses: []string{"team-a"}})
	onDefault, onTeam := &received{}, &received{}
	for _, r := range []Rule{{Name: "r", Target: onDefault}, {Name: "r", Bus: "team-a", Target: onTeam}} {
		if err := b.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.InjectOn(ctxT(t), "team-a", []byte(`{"source": "s", "detail-type": "d", "detail": {}}`)); err != nil {
		t.Fatal(err)
	}
	idle(t, b)
	onTeam.only(t)
	if len(onDefault.payloads) != 0 {
		t.Error("an event injected on team-a reached the default bus's rule")
	}
	if _, err := b.InjectOn(ctxT(t), "nobody", []byte(`{"source": "s", "detail-type": "d", "detail": {}}`)); err == nil {
		t.Error("InjectOn accepted a bus that does not exist")
	}
}
