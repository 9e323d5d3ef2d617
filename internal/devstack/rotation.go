package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/rotation"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// SimulatorActivation is the rotation function's activation wait for the
// Datadog simulator, whose new keys authenticate at once (unless a test
// sets ddsim.Options.ActivationDelay): short delays, so a rotation in
// `make dev` finishes within a second, and a timeout that still outlasts
// an injected fault or two.
var SimulatorActivation = rotation.Activation{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond, Timeout: 10 * time.Second}

// RotationFunction returns an Options.RotationFunction that runs the rotate
// function's Rotator in-process (rotation.New over the stack's adapters),
// decoding each event as Lambda would, with the given activation wait.
func RotationFunction(act rotation.Activation) func(Deps) (smemu.Invoker, error) {
	return func(d Deps) (smemu.Invoker, error) {
		rot := rotation.New(d.Store, d.Datadog, rotation.Options{
			Prefix: d.SecretPrefix, Now: d.Now, Logger: d.Logger.With("component", "rotate"), Activation: act,
			Publisher: d.Events,
		})
		return smemu.InvokerFunc(func(ctx context.Context, _ string, payload []byte) error {
			var ev rotation.Event
			if err := json.Unmarshal(payload, &ev); err != nil {
				return fmt.Errorf("decoding the rotation event: %w", err)
			}
			return rot.Handle(ctx, ev)
		}), nil
	}
}

// newSweeper builds the sweeper with a Rotator of its own (the sweeper
// only reads snapshots and reconciles through it), as the rotate function
// does on Lambda.
func (st *Stack) newSweeper(opts Options) *sweeper.Sweeper {
	log := opts.Logger.With("component", "sweeper")
	rot := rotation.New(st.Store, st.Datadog, rotation.Options{Prefix: opts.SecretPrefix, Now: opts.Now, Logger: log, Publisher: st.Events})
	return sweeper.New(st.Store, st.Datadog, rot, sweeper.Options{Prefix: opts.SecretPrefix, Now: opts.Now, Logger: log})
}

// startSweeping starts a sweep every interval until shutdown, as the
// rotate function's EventBridge schedule does on AWS, on the same path: it
// fans the sweep out as one "Sweep Page" event per page on the local bus,
// whose rule (routeSweepPages) hands each page to the sweeper, with
// Lambda's asynchronous retries. A failed fan-out is logged and retried at
// the next tick.
func (st *Stack) startSweeping(interval time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	st.stopSweeping = func() { cancel(); <-done }
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if _, err := st.Sweeper.FanOut(ctx, st.Events); err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "sweep failed", "err", err)
				}
			}
		}
	}()
}

// sweepPagesRuleName is the local twin of the rotate function's
// SweepPage rule in template.yaml.
const sweepPagesRuleName = "ddconn-sweep-pages"

// routeSweepPages hands the pages of a fanned-out sweep on the bus to the
// sweeper, decoded as Lambda decodes the rotate function's event.
func (st *Stack) routeSweepPages() error {
	return st.Bus.AddRule(busemu.Rule{
		Name: sweepPagesRuleName, Bus: eventBus,
		Sources: []string{eventbus.DefaultSource}, DetailTypes: []string{sweeper.PageDetailType},
		Target: busemu.TargetFunc(func(ctx context.Context, payload []byte) error {
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return fmt.Errorf("decoding the EventBridge event: %w", err)
			}
			var page sweeper.PageRequest
			if err := json.Unmarshal(ev.Detail, &page); err != nil {
				return fmt.Errorf("decoding the sweep page: %w", err)
			}
			_, err := st.Sweeper.RunPage(ctx, page)
			return err
		}),
	})
}

// rollbacker is the manage function's Rotator for the rollback routes, as
// on Lambda: it publishes Rotation Rolled Back on the stack's bus.
func (st *Stack) rollbacker(opts Options) *rotation.Rotator {
	return rotation.New(st.Store, st.Datadog, rotation.Options{Prefix: opts.SecretPrefix, Now: opts.Now,
		Logger: opts.Logger.With("component", "manage"), Publisher: st.Events})
}
