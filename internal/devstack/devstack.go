package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ddconn/ddconn/internal/busemu"
	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/kmsemu"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/access"
	"github.com/ddconn/ddconn/pkg/config"
	"github.com/ddconn/ddconn/pkg/connection"
	"github.com/ddconn/ddconn/pkg/datadog"
	"github.com/ddconn/ddconn/pkg/eventbus"
	"github.com/ddconn/ddconn/pkg/httpapi"
	"github.com/ddconn/ddconn/pkg/kmsgrant"
	"github.com/ddconn/ddconn/pkg/managedkey"
	"github.com/ddconn/ddconn/pkg/provisioning"
	"github.com/ddconn/ddconn/pkg/secretstore"
	"github.com/ddconn/ddconn/pkg/sweeper"
)

// Defaults of Options.
const (
	defaultRegion              = "us-east-1"
	defaultRotationFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:ddconn-rotate"
	DefaultRetryInterval       = 5 * time.Second

	// SecretsManagerFile, DatadogFile and KMSFile are the stand-ins'
	// state files inside Options.DataDir.
	SecretsManagerFile = "secretsmanager.json"
	DatadogFile        = "datadog.json"
	KMSFile            = "kms.json"

	// ConnectionKeyID is the KMS emulator's key, the stack's connection
	// key (template.yaml's ConnectionKey) when Options.KMSKeyID is "".
	ConnectionKeyID = "0d5c0a6e-7b1f-4c2a-9e3d-ddc0ddc0ddc0"
)

// Options configures a Stack. Zero values give the defaults shown.
type Options struct {
	// Listen addresses; "" means 127.0.0.1 on a random free port.
	SecretsManagerAddr, DatadogAddr, APIAddr string
	// DataDir, when set, makes both stand-ins persist their state there
	// (SecretsManagerFile, DatadogFile); "" keeps everything in memory.
	DataDir string
	// SeedDemo seeds the simulator with the demo organisation
	// (ddsim.SeedDemo).
	SeedDemo bool
	// RetryInterval is how long the emulator waits before re-attempting a
	// failed rotation; 0 means DefaultRetryInterval.
	RetryInterval time.Duration
	// Region of the emulator and the SDK client; "" means defaultRegion.
	Region string
	// SecretPrefix of connection secrets; "" means config.DefaultSecretPrefix.
	SecretPrefix string
	// KMSKeyID for new secrets and the readers' grants; "" means the KMS
	// emulator's key ConnectionKeyID (by ARN), as template.yaml gives the
	// functions their stack's key.
	KMSKeyID string
	// DatadogRetry is the Datadog client's retry policy (off by default, so
	// injected faults answer at once).
	DatadogRetry datadog.Retry
	// SecretsManagerRetry is the SDK's standard retryer: attempts per call
	// (0 = SDK default) and the cap of the delay between them (0 = SDK default).
	SecretsManagerMaxAttempts int
	SecretsManagerMaxBackoff  time.Duration
	// Emulator and Simulator are the stand-ins' base options (clocks, knobs);
	// DataFile, Invoker, RetryInterval and Region are set by Start.
	Emulator  smemu.Options
	Simulator ddsim.Options
	// Logger receives the API's and the service's records; nil discards.
	Logger *slog.Logger
	// Now is the service's clock; nil means time.Now.
	Now func() time.Time
	// RotationFunction, when set, builds the rotation function that the
	// emulator invokes in-process for RotationFunctionARN.
	RotationFunction func(Deps) (smemu.Invoker, error)
	// RotationFunctionARN names the rotation function; "" means
	// defaultRotationFunctionARN. The API is given it (so PUT …/rotation
	// works) only when RotationFunction is set.
	RotationFunctionARN string
	// SweepInterval, when positive, runs Stack.Sweeper that often (the
	// rotate function's schedule on AWS); 0 never runs it by itself.
	SweepInterval time.Duration
	// MinRotateInterval is connection.Options.MinRotateInterval; 0 means
	// none, so dev and tests may rotate a connection twice in a row (the
	// Lambda functions keep connection.DefaultMinRotateInterval).
	MinRotateInterval time.Duration
	// EventRetryDelays are the waits before the retries of a provisioning
	// request whose handling failed; nil means defaultEventRetryDelays.
	EventRetryDelays []time.Duration
	// RequireSigV4 makes the API refuse (403) every request not signed
	// with SigV4 for SigV4Service in Region with SigV4Credentials, as API
	// Gateway does in front of a stack deployed with AuthMode IAM.
	RequireSigV4 bool
	// AccessPolicy is the access policy of the API and of provisioning
	// events; nil means none (every caller an administrator). Requests
	// name their caller with the dev headers (DevPrincipalHeader,
	// DevGroupsHeader); a request naming none is an administrator.
	AccessPolicy *access.Policy
}

// Deps are the adapters a rotation function is built from.
type Deps struct {
	Store        *secretstore.Store
	Datadog      *datadog.Client
	SecretPrefix string
	Logger       *slog.Logger
	Now          func() time.Time
	// Events publishes outcome events (Rotation Failed) to the local bus.
	Events *eventbus.Publisher
}

// Stack is a running local ddconn.
type Stack struct {
	// URLs of the three servers, such as "http://127.0.0.1:4566".
	SecretsManagerURL, DatadogURL, APIURL string
	// RotationFunctionARN is the ARN the emulator invokes in-process.
	RotationFunctionARN string

	Emulator  *smemu.Emulator
	Simulator *ddsim.Simulator
	// KMS is the KMS emulator, served on the Secrets Manager emulator's
	// port; it holds the readers' grants on the connection key (KMSKeyID).
	KMS      *kmsemu.Emulator
	KMSKeyID string
	Store    *secretstore.Store
	Grants   *kmsgrant.Grants
	Datadog  *datadog.Client
	Service  *connection.Service
	// ManagedKeys mints, reads and deletes managed keys (the API's
	// …/application-keys and …/api-keys routes).
	ManagedKeys *managedkey.Service
	// Sweeper deletes orphaned keys and carries out due revocations; it
	// runs every Options.SweepInterval, and tests may run it at will.
	Sweeper *sweeper.Sweeper
	// Bus is the local EventBridge, served on the Secrets Manager
	// emulator's port: requests put on it reach Provisioning through the
	// rule template.yaml deploys, and the functions' outcomes land on it.
	Bus *busemu.Bus
	// Events publishes to Bus over HTTP, as the functions do on AWS.
	Events *eventbus.Publisher
	// Provisioning is the create function's EventBridge half.
	Provisioning *provisioning.Processor
	// Handler is the API (every route, and /_dev/events), also served at
	// APIURL.
	Handler http.Handler

	servers      []*http.Server
	done         chan error
	stopSweeping func() // waits for the sweeper loop to end; nil when none runs
}

// Start listens on the three addresses, builds the stand-ins and the API,
// and serves them until Close.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts = withDefaults(opts)
	lns, err := listen(opts.SecretsManagerAddr, opts.DatadogAddr, opts.APIAddr)
	if err != nil {
		return nil, err
	}
	st := &Stack{
		SecretsManagerURL:   "http://" + lns[0].Addr().String(),
		DatadogURL:          "http://" + lns[1].Addr().String(),
		APIURL:              "http://" + lns[2].Addr().String(),
		RotationFunctionARN: opts.RotationFunctionARN,
		done:                make(chan error, 3),
	}
	if err := st.build(ctx, opts); err != nil {
		closeAll(lns)
		return nil, err
	}
	st.Emulator.Start()
	if opts.SweepInterval > 0 {
		st.startSweeping(opts.SweepInterval, opts.Logger.With("component", "sweeper"))
	}
	for i, h := range []http.Handler{awsEndpoint(st.Emulator, st.Bus, st.KMS), st.Simulator, st.Handler} {
		st.serve(lns[i], h)
	}
	return st, nil
}

func withDefaults(o Options) Options {
	if o.Region == "" {
		o.Region = defaultRegion
	}
	if o.SecretPrefix == "" {
		o.SecretPrefix = config.DefaultSecretPrefix
	}
	if o.RetryInterval == 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.RotationFunctionARN == "" {
		o.RotationFunctionARN = defaultRotationFunctionARN
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.EventRetryDelays == nil {
		o.EventRetryDelays = defaultEventRetryDelays
	}
	return o
}

// build creates the adapters, the service, the rotation function and the
// stand-ins. The adapters come first because the rotation function needs
// them and the emulator needs the rotation function.
func (st *Stack) build(ctx context.Context, opts Options) error {
	store, err := secretstore.New(ctx, secretstore.Options{
		Endpoint:          st.SecretsManagerURL,
		Region:            opts.Region,
		StaticCredentials: true,
		MaxAttempts:       opts.SecretsManagerMaxAttempts,
		MaxBackoff:        opts.SecretsManagerMaxBackoff,
	})
	if err != nil {
		return err
	}
	st.Store = store
	if err := st.buildKMS(ctx, opts); err != nil {
		return err
	}
	opts.KMSKeyID = st.KMSKeyID
	if err := st.buildEvents(ctx, opts); err != nil {
		return err
	}
	st.Datadog = datadog.New(datadog.Options{
		BaseURL:    st.DatadogURL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Retry:      opts.DatadogRetry,
	})
	rotationARN := ""
	if opts.RotationFunction != nil {
		rotationARN = opts.RotationFunctionARN
	}
	st.ManagedKeys = managedkey.New(st.Store, st.Datadog, managedkey.Options{
		Prefix: opts.SecretPrefix, KMSKeyID: opts.KMSKeyID, Grants: st.Grants, RotationFunctionARN: rotationARN,
		Logger: opts.Logger, Now: opts.Now,
	})
	st.Service = connection.New(st.Store, st.Datadog, connection.Options{
		Prefix: opts.SecretPrefix, KMSKeyID: opts.KMSKeyID, Now: opts.Now, Logger: opts.Logger,
		RotationFunctionARN: rotationARN, Dependents: st.ManagedKeys, MinRotateInterval: cmp.Or(opts.MinRotateInterval, -1),
	})
	st.Sweeper = st.newSweeper(opts)
	policy := access.Static{P: opts.AccessPolicy}
	st.Provisioning = provisioning.New(st.Service, st.ManagedKeys, st.Store, provisioning.Options{
		Prefix: opts.SecretPrefix, Publisher: st.Events, Logger: opts.Logger.With("component", "provisioning"),
		Policy: policy,
	})
	if err := st.routeSweepPages(); err != nil {
		return err
	}
	if err := st.routeRequests(opts); err != nil {
		return err
	}
	st.Handler = st.withDevEvents(httpapi.NewMux(st.Service, httpapi.Options{Logger: opts.Logger, ManagedKeys: st.ManagedKeys,
		Identify: DevIdentity, Policy: policy, Rollback: st.rollbacker(opts)}))
	if opts.RequireSigV4 {
		st.Handler = requireSigV4(st.Handler, opts.Region, opts.Now)
	}
	invoker, err := st.rotationInvoker(opts)
	if err != nil {
		return err
	}
	return st.standIns(opts, invoker)
}

// buildKMS starts the KMS emulator (with its data file in DataDir) and the
// grants client on the shared AWS endpoint.
func (st *Stack) buildKMS(ctx context.Context, opts Options) error {
	kmsOpts := kmsemu.Options{Region: opts.Region, KeyIDs: []string{ConnectionKeyID}, Now: opts.Now, Logger: opts.Emulator.Logger}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return fmt.Errorf("devstack: creating the data directory: %w", err)
		}
		kmsOpts.DataFile = filepath.Join(opts.DataDir, KMSFile)
	}
	var err error
	if st.KMS, err = kmsemu.New(kmsOpts); err != nil {
		return fmt.Errorf("devstack: starting the KMS emulator: %w", err)
	}
	st.KMSKeyID = cmp.Or(opts.KMSKeyID, st.KMS.KeyARN(ConnectionKeyID))
	st.Grants, err = kmsgrant.New(ctx, kmsgrant.Options{
		Endpoint: st.SecretsManagerURL, Region: opts.Region, StaticCredentials: true,
		MaxAttempts: opts.SecretsManagerMaxAttempts, MaxBackoff: opts.SecretsManagerMaxBackoff,
	})
	if err != nil {
		return fmt.Errorf("devstack: building the KMS client: %w", err)
	}
	return nil
}

func (st *Stack) rotationInvoker(opts Options) (smemu.Invoker, error) {
	if opts.RotationFunction == nil {
		return nil, nil
	}
	fn, err := opts.RotationFunction(Deps{
		Store: st.Store, Datadog: st.Datadog, SecretPrefix: opts.SecretPrefix, Logger: opts.Logger, Now: opts.Now,
		Events: st.Events,
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: building the rotation function: %w", err)
	}
	return smemu.Router{Routes: map[string]smemu.Invoker{opts.RotationFunctionARN: fn}}, nil
}

func (st *Stack) standIns(opts Options, invoker smemu.Invoker) error {
	em, sim := opts.Emulator, opts.Simulator
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return fmt.Errorf("devstack: creating the data directory: %w", err)
		}
		em.DataFile = filepath.Join(opts.DataDir, SecretsManagerFile)
		sim.DataFile = filepath.Join(opts.DataDir, DatadogFile)
	}
	em.Region, em.RetryInterval = opts.Region, opts.RetryInterval
	if invoker != nil {
		em.Invoker = invoker
	}
	var err error
	if st.Emulator, err = smemu.New(em); err != nil {
		return fmt.Errorf("devstack: starting the Secrets Manager emulator: %w", err)
	}
	if st.Simulator, err = ddsim.New(sim); err != nil {
		return errors.Join(fmt.Errorf("devstack: starting the Datadog simulator: %w", err), st.Emulator.Close())
	}
	if opts.SeedDemo {
		if err := st.Simulator.SeedDemo(); err != nil {
			return errors.Join(fmt.Errorf("devstack: seeding the demo organisation: %w", err), st.Emulator.Close())
		}
	}
	return nil
}

func listen(addrs ...string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, addr := range addrs {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("devstack: listening on %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

func (st *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st.servers = append(st.servers, srv)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			st.done <- err
		}
	}()
}

// Done reports a server that stopped on its own (its listener failed).
func (st *Stack) Done() <-chan error { return st.done }

// shutdown stops the servers gracefully, then the emulator's scheduler,
// which flushes its data file.
func (st *Stack) shutdown(ctx context.Context) error {
	if st.stopSweeping != nil {
		st.stopSweeping()
		st.stopSweeping = nil
	}
	// Stop deliveries first: an event being handled still needs the servers.
	errs := []error{st.Bus.Close()}
	for _, srv := range st.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	errs = append(errs, st.Emulator.Close())
	return errors.Join(errs...)
}

// Close shuts the stack down with a two-second grace period, then closes
// whatever is left (connections a client opened but never used keep a
// graceful shutdown waiting for five seconds).
func (st *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := st.shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		var errs []error
		for _, srv := range st.servers {
			errs = append(errs, srv.Close())
		}
		return errors.Join(errs...)
	}
	return err
}
