// Command ddconn-dev runs ddconn locally (`make dev`): the Secrets Manager
// emulator on 127.0.0.1:4566 (which also serves the local EventBridge and
// KMS), the Datadog simulator (with the demo
// organisation) on 127.0.0.1:4580 and every HTTP function on 127.0.0.1:3000,
// until Ctrl-C or SIGTERM. The rotate function runs in-process: the emulator
// invokes it for rotations, and its sweeper runs every minute.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ddconn/ddconn/internal/devstack"
	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/app"
	"github.com/ddconn/ddconn/pkg/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ddconn-dev:", err)
		os.Exit(1)
	}
}

// flags are the command line.
type flags struct {
	dataDir       string
	memory        bool
	retryInterval time.Duration
	sweepInterval time.Duration
	smAddr        string
	ddAddr        string
	apiAddr       string
	verbose       bool
	logLevel      slog.Level
	requireSigV4  bool
	accessPolicy  string
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("ddconn-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dataDir, "data-dir", ".ddconn-dev", "directory where the stand-ins persist their state ("+
		devstack.SecretsManagerFile+", "+devstack.DatadogFile+", "+devstack.KMSFile+")")
	fs.BoolVar(&f.memory, "memory", false, "keep everything in memory (ignore -data-dir)")
	fs.DurationVar(&f.retryInterval, "retry-interval", devstack.DefaultRetryInterval, "delay before the emulator retries a failed rotation")
	fs.DurationVar(&f.sweepInterval, "sweep-interval", time.Minute, "how often the sweeper runs (deletes orphaned keys, carries out due revocations); 0 = never")
	fs.StringVar(&f.smAddr, "secretsmanager-addr", "127.0.0.1:4566", "listen address of the Secrets Manager emulator")
	fs.StringVar(&f.ddAddr, "datadog-addr", "127.0.0.1:4580", "listen address of the Datadog simulator")
	fs.StringVar(&f.apiAddr, "api-addr", "127.0.0.1:3000", "listen address of the API")
	fs.BoolVar(&f.verbose, "v", false, "also log every request the stand-ins receive")
	fs.BoolVar(&f.requireSigV4, "require-sigv4", false, "refuse API requests not signed with SigV4 (service "+devstack.SigV4Service+
		") with the test credentials: access key id and secret both "+devstack.SigV4Credentials.AccessKeyID)
	fs.StringVar(&f.accessPolicy, "access-policy", "", "file holding an access policy (docs/access.md); requests name their caller with the "+
		devstack.DevPrincipalHeader+" or "+devstack.DevGroupsHeader+" header, and one naming none acts as an administrator")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "API log level (debug, info, warn, error)")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return f, err
}

// readPolicy reads the access policy file; "" means no policy.
func readPolicy(file string) (*access.Policy, error) {
	if file == "" {
		return nil, nil
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-access-policy: %w", err)
	}
	p, err := access.ParsePolicy(doc)
	if err != nil {
		return nil, fmt.Errorf("-access-policy %s: %w", file, err)
	}
	return p, nil
}

// run serves until ctx is done (Ctrl-C or SIGTERM in main).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := logging.New(stderr, f.logLevel)
	policy, err := readPolicy(f.accessPolicy)
	if err != nil {
		return err
	}
	standIns := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if f.verbose {
		standIns = logger
	}
	opts := devstack.Options{
		SecretsManagerAddr: f.smAddr,
		DatadogAddr:        f.ddAddr,
		APIAddr:            f.apiAddr,
		SeedDemo:           true,
		RetryInterval:      f.retryInterval,
		// The rotate function runs in-process for the fixed dev ARN
		// (the stack's default rotation function ARN), with an activation wait
		// sized for the simulator, whose new keys work at once.
		RotationFunction: devstack.RotationFunction(devstack.SimulatorActivation),
		SweepInterval:    f.sweepInterval,
		// The same Datadog retry policy as the Lambda functions.
		DatadogRetry: app.HTTP.DatadogRetry(),
		Logger:       logger,
		RequireSigV4: f.requireSigV4,
		AccessPolicy: policy,
	}
	opts.Emulator.Logger = standIns.With("component", "secretsmanager")
	opts.Simulator.Logger = standIns.With("component", "datadog")
	if !f.memory {
		opts.DataDir = f.dataDir
	}
	st, err := devstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	if opts.DataDir != "" {
		remove, err := writePIDFile(opts.DataDir)
		if err != nil {
			return errors.Join(err, st.Close())
		}
		defer remove()
	}
	printBanner(stdout, st, opts)

	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "\nstopping…")
	case err := <-st.Done():
		_ = st.Close()
		return err
	}
	return st.Close()
}
