package busemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// InputTransformer is a target's InputTransformer (API reference,
// "InputTransformer"; user guide, "Amazon EventBridge input
// transformation"): the target receives InputTemplate with each
// <variable> replaced, instead of the event.
type InputTransformer struct {
	// InputPathsMap names variables (at most 100, none starting with
	// "aws.") by JSON path into the event: "$" or dot notation such as
	// "$.detail.name" of [A-Za-z0-9_-] segments.
	InputPathsMap map[string]string
	// InputTemplate is a JSON object, 1 to 8192 characters. A variable in
	// a JSON string is replaced by its value's text (a string without its
	// quotes); elsewhere by the value's JSON. Besides InputPathsMap's
	// variables, the predefined ones are aws.events.rule-arn,
	// aws.events.rule-name, aws.events.event.ingestion-time (RFC 3339),
	// and aws.events.event (the envelope without detail) and
	// aws.events.event.json (the whole envelope), which only stand as a
	// JSON value, never inside a string.
	InputTemplate string
}

// The predefined variables of an InputTemplate.
const (
	varRuleARN       = "aws.events.rule-arn"
	varRuleName      = "aws.events.rule-name"
	varIngestionTime = "aws.events.event.ingestion-time"
	varEvent         = "aws.events.event"
	varEventJSON     = "aws.events.event.json"
)

// Limits of an InputTransformer (API reference).
const (
	maxInputPaths    = 100
	maxInputTemplate = 8192
)

// placeholder is one <variable> of a template: its name, where it is, and
// whether it stands inside a JSON string.
type placeholder struct {
	name       string
	start, end int // template[start:end] is "<name>"
	inString   bool
}

// placeholders finds the template's variables among known: text between
// '<' and '>' that names no variable stays as it is.
func placeholders(template string, known func(string) bool) []placeholder {
	var out []placeholder
	inString, escaped := false, false
	for i := 0; i < len(template); i++ {
		c := template[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case c == '<':
			end := strings.IndexByte(template[i:], '>')
			if end > 0 && known(template[i+1:i+end]) {
				out = append(out, placeholder{name: template[i+1 : i+end], start: i, end: i + end + 1, inString: inString})
				i += end
			}
		}
	}
	return out
}

func isPredefined(name string) bool {
	switch name {
	case varRuleARN, varRuleName, varIngestionTime, varEvent, varEventJSON:
		return true
	}
	return false
}

// check refuses what PutTargets would, and the templates the stand-in does
// not render (text templates, array indices and wildcards in paths).
func (t *InputTransformer) check() error {
	if len(t.InputPathsMap) > maxInputPaths {
		return fmt.Errorf("InputPathsMap has %d variables, more than %d", len(t.InputPathsMap), maxInputPaths)
	}
	for name, path := range t.InputPathsMap {
		if name == "" || strings.HasPrefix(strings.ToLower(name), "aws.") {
			return fmt.Errorf("InputPathsMap: the variable name %q is empty or reserved (aws.)", name)
		}
		if _, ok := parsePath(path); !ok {
			return fmt.Errorf("InputPathsMap: %s: %q is not a JSON path the stand-in reads ($ or $.a.b)", name, path)
		}
	}
	tmpl := strings.TrimSpace(t.InputTemplate)
	if len(t.InputTemplate) == 0 || len(t.InputTemplate) > maxInputTemplate {
		return fmt.Errorf("InputTemplate is %d characters, not 1 to %d", len(t.InputTemplate), maxInputTemplate)
	}
	if !strings.HasPrefix(tmpl, "{") || !strings.HasSuffix(tmpl, "}") {
		return errors.New("InputTemplate: the stand-in renders JSON object templates only")
	}
	for _, p := range placeholders(t.InputTemplate, t.known) {
		if p.inString && (p.name == varEvent || p.name == varEventJSON) {
			return fmt.Errorf("InputTemplate: <%s> may only stand as a JSON value, not inside a string", p.name)
		}
	}
	return nil
}

func (t *InputTransformer) known(name string) bool {
	_, ok := t.InputPathsMap[name]
	return ok || isPredefined(name)
}

// parsePath splits "$.a.b" into ["a", "b"] ("$" into none).
func parsePath(path string) ([]string, bool) {
	if path == "$" {
		return nil, true
	}
	rest, ok := strings.CutPrefix(path, "$.")
	if !ok {
		return nil, false
	}
	segs := strings.Split(rest, ".")
	for _, s := range segs {
		if s == "" || strings.Trim(s, "-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return nil, false
		}
	}
	return segs, true
}

// render returns what the target of rule (ruleARN) receives for ev,
// ingested at ingested.
func (t *InputTransformer) render(ev Event, ruleName, ruleARN string, ingested time.Time) []byte {
	envelope := ev.JSON()
	var doc any
	_ = json.Unmarshal(envelope, &doc) // ev.JSON is a JSON object
	var b strings.Builder
	last := 0
	for _, p := range placeholders(t.InputTemplate, t.known) {
		b.WriteString(t.InputTemplate[last:p.start])
		last = p.end
		var value any
		switch p.name {
		case varRuleARN:
			value = ruleARN
		case varRuleName:
			value = ruleName
		case varIngestionTime:
			value = eventTime(ingested).Format(time.RFC3339)
		case varEventJSON:
			b.Write(envelope)
			continue
		case varEvent:
			var m map[string]any
			_ = json.Unmarshal(envelope, &m)
			delete(m, "detail")
			raw, _ := json.Marshal(m)
			b.Write(raw)
			continue
		default:
			value = lookup(doc, t.InputPathsMap[p.name])
		}
		raw, _ := json.Marshal(value) // values decoded from JSON marshal
		if s, isString := value.(string); isString && p.inString {
			raw, _ = json.Marshal(s)
			raw = raw[1 : len(raw)-1]
		} else if p.inString {
			quoted, _ := json.Marshal(string(raw))
			raw = quoted[1 : len(quoted)-1]
		}
		b.Write(raw)
	}
	b.WriteString(t.InputTemplate[last:])
	return []byte(b.String())
}

// lookup returns the value at path in doc, nil when there is none.
func lookup(doc any, path string) any {
	segs, _ := parsePath(path)
	for _, s := range segs {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[s]
	}
	return doc
}
