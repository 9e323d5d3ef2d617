package deploy

import (
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/pkg/metrics"
)

// subVariable matches a ${…} of a !Sub string (not ${!…}, which is literal).
var subVariable = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// TestDashboard checks the operations dashboard: its body is JSON once
// !Sub has filled it in, every variable resolves, it charts every metric
// pkg/metrics publishes (and no other of namespace ddconn), and it shows
// the depth of every dead-letter queue.
func TestDashboard(t *testing.T) {
	tpl := loadTemplate(t)
	dashboards := tpl.OfType("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("dashboards: %v, want one", dashboards)
	}
	d := tpl.Resources[dashboards[0]]
	if d.Condition != "" {
		t.Errorf("the dashboard is created only under %s", d.Condition)
	}
	args := asList(asMap(d.Properties["DashboardBody"])["Fn::Sub"])
	if len(args) != 2 {
		t.Fatalf("DashboardBody is not !Sub [body, variables]: %#v", d.Properties["DashboardBody"])
	}
	body, _ := args[0].(string)
	vars := asMap(args[1])

	for _, m := range subVariable.FindAllStringSubmatch(body, -1) {
		name := m[1]
		_, isVar := vars[name]
		_, isResource := tpl.Resources[name]
		if !isVar && !isResource && !strings.HasPrefix(name, "AWS::") {
			t.Errorf("${%s} is neither a variable, a resource nor a pseudo parameter", name)
		}
	}
	var doc struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
				Query   string  `json:"query"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(subVariable.ReplaceAllString(body, "x")), &doc); err != nil {
		t.Fatalf("the dashboard body is not JSON: %v", err)
	}

	published := []string{metrics.RotationStepSucceeded, metrics.RotationStepFailed, metrics.KeysRevoked,
		metrics.OrphansSwept, metrics.Refusals, metrics.KeyHeadroom}
	var charted []string
	for _, w := range doc.Widgets {
		for _, m := range w.Properties.Metrics {
			if len(m) >= 2 && m[0] == metrics.Namespace {
				name, _ := m[1].(string)
				charted = append(charted, name)
				if !slices.Contains(published, name) {
					t.Errorf("widget %q charts %s/%s, which pkg/metrics does not publish", w.Properties.Title, metrics.Namespace, name)
				}
			}
		}
		if w.Type == "log" && !strings.HasPrefix(w.Properties.Query, "SOURCE 'x' |") { // 'x': a ${…} filled in above
			t.Errorf("log widget %q does not name its log group: %q", w.Properties.Title, w.Properties.Query)
		}
	}
	for _, name := range published {
		if !slices.Contains(charted, name) {
			t.Errorf("the dashboard does not chart %s/%s", metrics.Namespace, name)
		}
	}
	for _, q := range tpl.OfType("AWS::SQS::Queue") {
		if !slices.ContainsFunc(slices.Collect(maps.Values(vars)), func(v any) bool { return reflect.DeepEqual(v, getAtt(q, "QueueName")) }) {
			t.Errorf("the dashboard does not show the depth of %s", q)
		}
	}
}
