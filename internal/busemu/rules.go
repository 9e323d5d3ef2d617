package busemu

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Target receives the events of a rule, one complete envelope (Event.JSON),
// or the rule's rendered InputTransformer, per call, as a Lambda function
// invoked asynchronously would. An error is a
// failed invocation, which is retried.
type Target interface {
	Deliver(ctx context.Context, event []byte) error
}

// TargetFunc adapts a function to Target.
type TargetFunc func(ctx context.Context, event []byte) error

// Deliver calls f.
func (f TargetFunc) Deliver(ctx context.Context, event []byte) error { return f(ctx, event) }

// Rule sends the events of a bus that match its pattern to its target. The
// pattern is EventBridge's {"source": Sources, "detail-type": DetailTypes}:
// an empty list matches anything.
type Rule struct {
	// Name identifies the rule on its bus; adding a rule with the same name
	// and bus replaces it, as PutRule does.
	Name string
	// Bus is the bus's name or ARN; "" means DefaultBus.
	Bus string
	// Sources are the sources the rule matches; empty matches any.
	Sources []string
	// DetailTypes are the detail-types the rule matches; empty matches any.
	DetailTypes []string
	// Target receives the matching events.
	Target Target
	// InputTransformer, when set, replaces the event the target receives
	// with its rendered template.
	InputTransformer *InputTransformer
}

func (r Rule) matches(e Event) bool {
	return (len(r.Sources) == 0 || slices.Contains(r.Sources, e.Source)) &&
		(len(r.DetailTypes) == 0 || slices.Contains(r.DetailTypes, e.DetailType))
}

// AddRule adds r, or replaces the rule of the same name on the same bus.
// Events put from then on are delivered to r.Target when they match.
func (b *Bus) AddRule(r Rule) error {
	if r.Name == "" || r.Target == nil {
		return errors.New("busemu: a rule needs a name and a target")
	}
	bus, known := b.resolveRuleBus(r.Bus)
	if !known {
		return fmt.Errorf("busemu: adding rule %s: event bus %s does not exist", r.Name, r.Bus)
	}
	r.Bus = bus
	if r.InputTransformer != nil {
		if err := r.InputTransformer.check(); err != nil {
			return fmt.Errorf("busemu: adding rule %s: %w", r.Name, err)
		}
		t := *r.InputTransformer
		t.InputPathsMap = maps.Clone(t.InputPathsMap)
		r.InputTransformer = &t
	}
	r.Sources, r.DetailTypes = slices.Clone(r.Sources), slices.Clone(r.DetailTypes)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rules = slices.DeleteFunc(b.rules, func(old Rule) bool { return old.Name == r.Name && old.Bus == r.Bus })
	b.rules = append(b.rules, r)
	return nil
}

func (b *Bus) resolveRuleBus(nameOrARN string) (string, bool) {
	if nameOrARN != "" {
		if _, ok := parseBusRef(nameOrARN); !ok {
			return nameOrARN, false
		}
	}
	return b.resolveBus(nameOrARN)
}

// RuleARN returns the ARN of the rule called name on bus (a name; "" is
// DefaultBus): arn:aws:events:<region>:<account>:rule/<name> on the default
// bus, rule/<bus>/<name> on a custom one.
func (b *Bus) RuleARN(bus, name string) string {
	if bus == "" || bus == DefaultBus {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", b.region, b.account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", b.region, b.account, bus, name)
}
