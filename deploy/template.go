package deploy

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// shortForms maps CloudFormation's YAML short-form tags to the long form they
// stand for: "!Ref X" is {"Ref": "X"}, "!Sub s" is {"Fn::Sub": "s"}.
var shortForms = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!GetAtt":      "Fn::GetAtt",
	"!Sub":         "Fn::Sub",
	"!If":          "Fn::If",
	"!Equals":      "Fn::Equals",
	"!Not":         "Fn::Not",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
	"!Join":        "Fn::Join",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!FindInMap":   "Fn::FindInMap",
	"!Base64":      "Fn::Base64",
	"!Cidr":        "Fn::Cidr",
	"!GetAZs":      "Fn::GetAZs",
	"!ImportValue": "Fn::ImportValue",
	"!Transform":   "Fn::Transform",
}

// Decode parses a CloudFormation YAML document into maps, lists and scalars,
// with every short-form intrinsic in its long form, so callers compare one
// shape only. It rejects what CloudFormation rejects or only some tools
// accept: aliases, merge keys, duplicate keys and unknown tags.
func Decode(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("want one YAML document")
	}
	v, err := decodeNode(doc.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a mapping at the top level, got %T", v)
	}
	return m, nil
}

func decodeNode(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		// CloudFormation answers "YAML aliases are not allowed"; only some
		// deploy tools expand them first, so a template must not rely on them.
		return nil, fmt.Errorf("line %d: YAML alias *%s: CloudFormation does not accept aliases", n.Line, n.Value)
	}
	if long, ok := shortForms[n.Tag]; ok {
		return decodeShortForm(n, long)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return decodeMapping(n)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := decodeNode(c)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

func decodeMapping(n *yaml.Node) (map[string]any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "<<" {
			return nil, fmt.Errorf("line %d: only plain keys are allowed (no merge keys)", k.Line)
		}
		if _, dup := m[k.Value]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
		}
		v, err := decodeNode(vn)
		if err != nil {
			return nil, err
		}
		m[k.Value] = v
	}
	return m, nil
}

// decodeShortForm turns a tagged node into {long: value}. !GetAtt's scalar
// form "Res.Attr" becomes the list ["Res", "Attr"] of the long form.
func decodeShortForm(n *yaml.Node, long string) (any, error) {
	untagged := *n
	untagged.Tag = ""
	if n.Kind == yaml.ScalarNode {
		untagged.Tag = "!!str"
	}
	v, err := decodeNode(&untagged)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && long == "Fn::GetAtt" {
		res, attr, found := strings.Cut(s, ".")
		if !found {
			return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
		}
		v = []any{res, attr}
	}
	return map[string]any{long: v}, nil
}

// Template is a decoded AWS SAM template: the parts ddconn's checks read.
type Template struct {
	Parameters map[string]any
	Conditions map[string]any
	Globals    map[string]any
	Resources  map[string]Resource
	// Loops are the Resources' Fn::ForEach::<name> entries, by name.
	Loops   map[string]Loop
	Outputs map[string]any
}

// Loop is a Fn::ForEach of Resources (AWS::LanguageExtensions): the
// resources of Template, by logical id (with &{Identifier} in it), for each
// value of Collection.
type Loop struct {
	Identifier string
	Collection any
	Template   map[string]Resource
}

// Resource is one entry of a template's Resources.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	Condition  string // the condition it is created under; "" = always
}

// Load reads and decodes the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	tpl, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tpl, nil
}

// Parse decodes a template (see Decode).
func Parse(data []byte) (*Template, error) {
	doc, err := Decode(data)
	if err != nil {
		return nil, err
	}
	tpl := &Template{
		Parameters: asMap(doc["Parameters"]),
		Conditions: asMap(doc["Conditions"]),
		Globals:    asMap(doc["Globals"]),
		Resources:  map[string]Resource{},
		Loops:      map[string]Loop{},
		Outputs:    asMap(doc["Outputs"]),
	}
	for id, raw := range asMap(doc["Resources"]) {
		if name, ok := strings.CutPrefix(id, "Fn::ForEach::"); ok {
			loop, err := parseLoop(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			tpl.Loops[name] = loop
			continue
		}
		r, err := parseResource(id, raw)
		if err != nil {
			return nil, err
		}
		tpl.Resources[id] = r
	}
	return tpl, nil
}

// parseLoop reads [Identifier, Collection, {logical id: resource}].
func parseLoop(raw any) (Loop, error) {
	parts := asList(raw)
	if len(parts) != 3 || !isMap(parts[2]) {
		return Loop{}, fmt.Errorf("not [Identifier, Collection, {resources}]")
	}
	ident, _ := parts[0].(string)
	if ident == "" {
		return Loop{}, fmt.Errorf("the identifier is not a string")
	}
	loop := Loop{Identifier: ident, Collection: parts[1], Template: map[string]Resource{}}
	for id, r := range asMap(parts[2]) {
		res, err := parseResource(id, r)
		if err != nil {
			return Loop{}, err
		}
		loop.Template[id] = res
	}
	return loop, nil
}

// parseResource reads one entry of Resources.
func parseResource(id string, raw any) (Resource, error) {
	r := asMap(raw)
	typ, _ := r["Type"].(string)
	if typ == "" {
		return Resource{}, fmt.Errorf("resource %s has no Type", id)
	}
	cond, _ := r["Condition"].(string)
	return Resource{Type: typ, Properties: asMap(r["Properties"]), Metadata: asMap(r["Metadata"]), Condition: cond}, nil
}

// OfType lists the logical ids of the resources of one type, sorted.
func (t *Template) OfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Functions lists the AWS::Serverless::Function logical ids, sorted.
func (t *Template) Functions() []string { return t.OfType("AWS::Serverless::Function") }

// FunctionProperties is a function's properties as SAM sees them: the
// Globals.Function section merged under the function's own.
func (t *Template) FunctionProperties(id string) map[string]any {
	return mergeGlobals(asMap(t.Globals["Function"]), t.Resources[id].Properties)
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []any // strings, or intrinsics such as {"Fn::Sub": …}
	Condition map[string]any
}

// ParseStatements reads the statements of an IAM policy document.
func ParseStatements(policyDocument any) []Statement {
	var out []Statement
	for _, raw := range asList(asMap(policyDocument)["Statement"]) {
		m := asMap(raw)
		sid, _ := m["Sid"].(string)
		effect, _ := m["Effect"].(string)
		out = append(out, Statement{
			Sid:       sid,
			Effect:    effect,
			Actions:   asStrings(m["Action"]),
			Resources: asList(m["Resource"]),
			Condition: asMap(m["Condition"]),
		})
	}
	return out
}

// Statements gathers every IAM statement that applies to a function: SAM's
// Policies property, its role's inline policies, and the AWS::IAM::Policy and
// AWS::IAM::ManagedPolicy resources attached to its role. Permissions that
// cannot be read from the template (AWS managed policies, SAM policy
// templates) are an error, so nothing is granted unseen.
func (t *Template) Statements(functionID string) ([]Statement, error) {
	p := t.FunctionProperties(functionID)
	var sts []Statement
	for _, pol := range asList(p["Policies"]) {
		doc := asMap(pol)
		if doc["Statement"] == nil {
			return nil, fmt.Errorf("%s Policies has %v: only inline statements can be read; its grants cannot be read here", functionID, pol)
		}
		sts = append(sts, ParseStatements(doc)...)
	}
	role := refTarget(p["Role"])
	if role == "" {
		return sts, nil
	}
	r := t.Resources[role].Properties
	if arns := asList(r["ManagedPolicyArns"]); len(arns) > 0 {
		return nil, fmt.Errorf("%s has managed policies %v, which cannot be read here", role, arns)
	}
	for _, inline := range asList(r["Policies"]) {
		sts = append(sts, ParseStatements(asMap(inline)["PolicyDocument"])...)
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, pid := range t.OfType(typ) {
			pp := t.Resources[pid].Properties
			if slices.ContainsFunc(asList(pp["Roles"]), func(v any) bool { return refTarget(v) == role }) {
				sts = append(sts, ParseStatements(pp["PolicyDocument"])...)
			}
		}
	}
	return sts, nil
}

// Actions lists, sorted and once each, the actions a function's Allow
// statements grant.
func (t *Template) Actions(functionID string) ([]string, error) {
	sts, err := t.Statements(functionID)
	if err != nil {
		return nil, err
	}
	var actions []string
	for _, st := range sts {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Actions {
			if !slices.Contains(actions, a) {
				actions = append(actions, a)
			}
		}
	}
	slices.Sort(actions)
	return actions, nil
}

// mergeGlobals applies SAM's rules for Globals: maps merge key by key, lists
// are concatenated (globals first) and scalars from the resource win.
func mergeGlobals(global, local map[string]any) map[string]any {
	out := maps.Clone(global)
	if out == nil {
		out = map[string]any{}
	}
	for k, lv := range local {
		gv, ok := out[k]
		switch {
		case !ok || isIntrinsic(lv) || isIntrinsic(gv):
			out[k] = lv
		case isMap(gv) && isMap(lv):
			out[k] = mergeGlobals(asMap(gv), asMap(lv))
		case isList(gv) && isList(lv):
			out[k] = append(slices.Clone(asList(gv)), asList(lv)...)
		default:
			out[k] = lv
		}
	}
	return out
}

// isIntrinsic reports whether v is a one-key intrinsic such as {"Ref": …}.
func isIntrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func isMap(v any) bool  { _, ok := v.(map[string]any); return ok }
func isList(v any) bool { _, ok := v.([]any); return ok }

// asMap returns v as a map, or nil when it is not one.
func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// asList returns v as a list; a single value becomes a one-element list, as
// IAM allows for Action and Resource.
func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// asStrings returns the string members of asList(v).
func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// refTarget returns the resource a {"Ref": …} or {"Fn::GetAtt": […]} names.
func refTarget(v any) string {
	m := asMap(v)
	if s, ok := m["Ref"].(string); ok {
		return s
	}
	if parts := asList(m["Fn::GetAtt"]); len(parts) == 2 {
		s, _ := parts[0].(string)
		return s
	}
	return ""
}
