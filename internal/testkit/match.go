package testkit

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// The stand-ins' conformance tables (testdata/conformance.json) write
// requests with ${vars} and expected answers as patterns; Expand and Match
// read them the same way for every stand-in.

var varPattern = regexp.MustCompile(`\$\{([a-z0-9]+)\}`)

// Expand substitutes ${vars} in every string (and map key) of v. In want
// values (pattern=true) strings starting with re: get quoted substitutions.
func Expand[T any](v T, vars map[string]string, pattern bool) T {
	return expandAny(any(v), vars, pattern).(T)
}

func expandAny(v any, vars map[string]string, pattern bool) any {
	switch x := v.(type) {
	case string:
		return ExpandString(x, vars, pattern)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expandAny(e, vars, pattern)
		}
		return out
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[ExpandString(k, vars, false)] = expandAny(e, vars, pattern)
		}
		return out
	}
	return v
}

// ExpandString is Expand for one string.
func ExpandString(s string, vars map[string]string, pattern bool) string {
	quote := pattern && strings.HasPrefix(s, "re:")
	return varPattern.ReplaceAllStringFunc(s, func(m string) string {
		val := vars[varPattern.FindStringSubmatch(m)[1]]
		if quote {
			return regexp.QuoteMeta(val)
		}
		return val
	})
}

// Match checks got against want: objects as subsets, arrays as unordered
// multisets, "re:" strings as patterns, "<present>" as any value.
func Match(want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("got %v, want an object", got)
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present {
				return fmt.Errorf("%s missing", k)
			}
			if err := Match(wv, gv); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	case []any:
		return matchUnordered(w, got)
	case string:
		return matchString(w, got)
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	return nil
}

func matchUnordered(want []any, got any) error {
	g, ok := got.([]any)
	if !ok || len(g) != len(want) {
		return fmt.Errorf("got %v, want %d items like %v", got, len(want), want)
	}
	used := make([]bool, len(g))
	for _, w := range want {
		found := false
		for i, gv := range g {
			if !used[i] && Match(w, gv) == nil {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no item matches %v in %v", w, g)
		}
	}
	return nil
}

func matchString(want string, got any) error {
	if want == "<present>" {
		return nil
	}
	s, ok := got.(string)
	if pattern, isRe := strings.CutPrefix(want, "re:"); isRe {
		if !ok || !regexp.MustCompile(pattern).MatchString(s) {
			return fmt.Errorf("got %v, want match of %s", got, pattern)
		}
		return nil
	}
	if !ok || s != want {
		return fmt.Errorf("got %v, want %q", got, want)
	}
	return nil
}
