package e2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ddconn/ddconn/deploy"
	"github.com/ddconn/ddconn/internal/ddsim"
	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/config"
)

// Fixed identities of the local stack, in the emulator's account and region.
const (
	Region    = smemu.DefaultRegion
	AccountID = smemu.DefaultAccountID
	// RotateFunctionARN is the rotate function's ARN: the manage function
	// gives it to RotateSecret, and the emulator invokes the rotate RIE for it.
	RotateFunctionARN = "arn:aws:lambda:" + Region + ":" + AccountID + ":function:ddconn-RotateFunction"
	// ConnectionKeyARN stands in for the stack's KMS key.
	ConnectionKeyARN = "arn:aws:kms:" + Region + ":" + AccountID + ":key/00000000-0000-4000-8000-00000000e2e0"
)

// StackOptions configures StartStack.
type StackOptions struct {
	// Template is template.yaml: each function gets the environment it
	// declares there, with the stack's values in place of the intrinsics.
	Template *deploy.Template
	// RIE is the path of the aws-lambda-rie binary.
	RIE string
	// Bootstraps maps logical ids (CreateFunction, …) to host binaries.
	Bootstraps map[string]string
	// LogDir receives <LogicalId>.log for each function; "" discards output.
	LogDir string
	// RIELogLevel is the RIE's own log level ("" = "warn").
	RIELogLevel string
	// LogLevel is the functions' DDCONN_LOG_LEVEL ("" = "debug").
	LogLevel string
	// SecretPrefix is DDCONN_SECRET_PREFIX ("" = config.DefaultSecretPrefix).
	SecretPrefix string
	// Emulator and Simulator are the stand-ins' base options; the stack sets
	// the emulator's Invoker.
	Emulator  smemu.Options
	Simulator ddsim.Options
}

// Stack is ddconn's functions, each under its own RIE, wired to in-process
// stand-ins for Secrets Manager and Datadog.
type Stack struct {
	Emulator  *smemu.Emulator
	Simulator *ddsim.Simulator
	// SecretsManagerURL serves the emulator for the caller's own checks;
	// each function has an endpoint of its own, so its calls are recorded.
	SecretsManagerURL string
	// DatadogURL serves the simulator.
	DatadogURL string
	// Functions are the running functions by logical id.
	Functions map[string]*Process

	calls   *callLog
	servers []*http.Server
	logs    []io.Closer
	started map[string]ProcessOptions // how each function was started
}

// StartStack starts the stand-ins and every function of opts.Bootstraps.
func StartStack(ctx context.Context, opts StackOptions) (st *Stack, err error) {
	st = &Stack{
		Functions: map[string]*Process{},
		calls:     &callLog{ops: map[string][]string{}},
		started:   map[string]ProcessOptions{},
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if st.Simulator, err = ddsim.New(opts.Simulator); err != nil {
		return nil, fmt.Errorf("starting the Datadog simulator: %w", err)
	}
	if st.DatadogURL, err = st.serve(st.Simulator); err != nil {
		return nil, err
	}
	// The functions' endpoints must exist before the functions start, and the
	// emulator needs the rotate function's RIE endpoint: so listen first,
	// start the functions, then build the emulator and serve it.
	var emu lateHandler
	if st.SecretsManagerURL, err = st.serve(&emu); err != nil {
		return nil, err
	}
	for id, bootstrap := range opts.Bootstraps {
		smURL, err := st.serve(st.calls.recorder(id, &emu))
		if err != nil {
			return nil, err
		}
		env, err := functionEnv(opts, id, smURL, st.DatadogURL)
		if err != nil {
			return nil, err
		}
		out, err := st.logFile(opts.LogDir, id)
		if err != nil {
			return nil, err
		}
		po := ProcessOptions{RIE: opts.RIE, Bootstrap: bootstrap, Env: env, Output: out, LogLevel: opts.RIELogLevel}
		p, err := Start(po)
		if err != nil {
			return nil, fmt.Errorf("starting %s: %w", id, err)
		}
		st.Functions[id] = p
		st.started[id] = po
	}
	eo := opts.Emulator
	if rotate, ok := st.Functions["RotateFunction"]; ok {
		eo.Invoker = smemu.Router{Routes: map[string]smemu.Invoker{RotateFunctionARN: smemu.RIEInvoker{Endpoint: rotate.URL()}}}
	}
	if st.Emulator, err = smemu.New(eo); err != nil {
		return nil, fmt.Errorf("starting the Secrets Manager emulator: %w", err)
	}
	emu.set(st.Emulator)
	st.Emulator.Start()
	return st, nil
}

// functionEnv is a function's whole environment: what template.yaml sets,
// resolved for this stack, plus what Lambda and the stand-ins provide.
func functionEnv(opts StackOptions, id, smURL, ddURL string) ([]string, error) {
	props := opts.Template.FunctionProperties(id)
	values := map[string]string{
		"Ref SecretPrefix":          cmp.Or(opts.SecretPrefix, config.DefaultSecretPrefix),
		"Ref LogLevel":              cmp.Or(opts.LogLevel, "debug"),
		"GetAtt ConnectionKey.Arn":  ConnectionKeyARN,
		"GetAtt RotateFunction.Arn": RotateFunctionARN,
		"Ref EventBusName":          "", // no EventBridge here: publishing off
	}
	env := []string{
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=AKIDDDCONNE2E", // the emulator checks no signatures
		"AWS_SECRET_ACCESS_KEY=ddconn-e2e",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + smURL,
		config.EnvDatadogBaseURL + "=" + ddURL,
		"AWS_LAMBDA_FUNCTION_NAME=ddconn-" + id,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%v", props["Timeout"]),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%v", props["MemorySize"]),
	}
	environment, _ := props["Environment"].(map[string]any)
	vars, _ := environment["Variables"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v, err := resolve(vars[name], values)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", id, name, err)
		}
		env = append(env, name+"="+v)
	}
	return env, nil
}

// resolve gives a template value (a literal or an intrinsic) its value in
// this stack.
func resolve(v any, values map[string]string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any:
		var key string
		if r, ok := x["Ref"].(string); ok {
			key = "Ref " + r
		} else if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			key = fmt.Sprintf("GetAtt %v.%v", ga[0], ga[1])
		}
		if s, ok := values[key]; ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("no local value for %v", v)
}

// serve serves h on a new loopback listener and returns its URL.
func (st *Stack) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st.servers = append(st.servers, srv)
	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed on Close
	return "http://" + ln.Addr().String(), nil
}

func (st *Stack) logFile(dir, id string) (io.Writer, error) {
	if dir == "" {
		return nil, nil
	}
	f, err := os.Create(filepath.Join(dir, id+".log"))
	if err != nil {
		return nil, fmt.Errorf("creating the log of %s: %w", id, err)
	}
	st.logs = append(st.logs, f)
	return f, nil
}

// StartFunction starts one more process of a stack function, with the same
// binary and environment plus extraEnv (KEY=VALUE), its output going to out
// (nil discards). The caller closes it. Rotations the emulator runs still go
// to Functions["RotateFunction"].
func (st *Stack) StartFunction(id string, out io.Writer, extraEnv ...string) (*Process, error) {
	po, ok := st.started[id]
	if !ok {
		return nil, fmt.Errorf("the stack has no function %s", id)
	}
	po.Env = append(slices.Clone(po.Env), extraEnv...)
	po.Output = out
	return Start(po)
}

// Calls lists the Secrets Manager operations a function has sent, sorted,
// once each.
func (st *Stack) Calls(id string) []string { return st.calls.list(id) }

// Close stops the functions, the stand-ins and their servers.
func (st *Stack) Close() error {
	var errs []error
	for id, p := range st.Functions {
		if err := p.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	if st.Emulator != nil {
		errs = append(errs, st.Emulator.Close())
	}
	for _, srv := range st.servers {
		errs = append(errs, srv.Close())
	}
	for _, l := range st.logs {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// lateHandler serves a handler set after the listener exists; requests
// before that are refused (none are expected: functions start lazily).
type lateHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (l *lateHandler) set(h http.Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.h = h
}

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.RLock()
	h := l.h
	l.mu.RUnlock()
	if h == nil {
		http.Error(w, "emulator not started", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// callLog records, per function, the Secrets Manager operations it sends
// (the X-Amz-Target of each AWS JSON 1.1 request).
type callLog struct {
	mu  sync.Mutex
	ops map[string][]string
}

func (c *callLog) recorder(id string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager."); ok {
			c.mu.Lock()
			if !slices.Contains(c.ops[id], op) {
				c.ops[id] = append(c.ops[id], op)
			}
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (c *callLog) list(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(slices.Values(c.ops[id]))
}
