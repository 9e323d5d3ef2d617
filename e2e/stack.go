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
	"github.com/ddconn/ddconn/internal/busemu"
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
	// EventBusName is the template's EventBusName: its default, the bus
	// every account has, where the functions publish their outcomes.
	EventBusName = busemu.DefaultBus
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
	// AccessPolicySecret is the template's AccessPolicySecretName ("" = no
	// access policy).
	AccessPolicySecret string
	// Emulator, Simulator and Bus are the stand-ins' base options; the
	// stack sets the emulator's Invoker, and the bus's Region and Account
	// to the emulator's.
	Emulator  smemu.Options
	Simulator ddsim.Options
	Bus       busemu.Options
}

// Stack is ddconn's functions, each under its own RIE, wired to in-process
// stand-ins for Secrets Manager, EventBridge and Datadog.
type Stack struct {
	Emulator  *smemu.Emulator
	Simulator *ddsim.Simulator
	// Bus is EventBridge: the functions publish their outcomes to its
	// default bus (EventBusName).
	Bus *busemu.Bus
	// SecretsManagerURL serves the emulator and EventBridgeURL the bus, for
	// the caller's own calls; each function has endpoints of its own, so
	// its calls are recorded.
	SecretsManagerURL string
	EventBridgeURL    string
	// DatadogURL serves the simulator.
	DatadogURL string
	// LogDir is StackOptions.LogDir: <LogicalId>.log there is each
	// function's output ("" = discarded).
	LogDir string
	// Functions are the running functions by logical id.
	Functions map[string]*Process

	calls   *callLog
	values  map[string]string // the template's intrinsics in this stack
	servers []*http.Server
	logs    []io.Closer
	started map[string]ProcessOptions // how each function was started
}

// StartStack starts the stand-ins and every function of opts.Bootstraps.
func StartStack(ctx context.Context, opts StackOptions) (st *Stack, err error) {
	st = &Stack{
		Functions: map[string]*Process{},
		calls:     &callLog{calls: map[string][]Call{}},
		values:    opts.values(),
		LogDir:    opts.LogDir,
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
	bo := opts.Bus
	bo.Region, bo.Account = Region, AccountID
	if st.Bus, err = busemu.New(bo); err != nil {
		return nil, fmt.Errorf("starting the EventBridge stand-in: %w", err)
	}
	if st.EventBridgeURL, err = st.serve(st.Bus); err != nil {
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
		ends := endpoints{datadog: st.DatadogURL}
		if ends.secretsManager, err = st.serve(st.calls.recorder(id, &emu)); err != nil {
			return nil, err
		}
		if ends.eventBridge, err = st.serve(st.calls.recorder(id, st.Bus)); err != nil {
			return nil, err
		}
		env, err := functionEnv(opts, id, ends)
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

// endpoints are where a function's clients are sent: its own recorded
// endpoints of the Secrets Manager emulator and the bus, and the simulator.
type endpoints struct {
	secretsManager, eventBridge, datadog string
}

// MinRotateInterval is the stack's DDCONN_MIN_ROTATE_INTERVAL.
const MinRotateInterval = 2 * time.Second

// values are the stack's values of the template's intrinsics, keyed as
// resolve looks them up: "Ref <Parameter>" (pseudo parameters such as
// AWS::Region too) and "GetAtt <LogicalId>.<Attribute>".
func (opts StackOptions) values() map[string]string {
	return map[string]string{
		"Ref AWS::Partition": "aws",
		"Ref AWS::Region":    Region,
		"Ref AWS::AccountId": AccountID,
		"Ref SecretPrefix":   cmp.Or(opts.SecretPrefix, config.DefaultSecretPrefix),
		"Ref LogLevel":       cmp.Or(opts.LogLevel, "debug"),
		"Ref EventBusName":   EventBusName,
		// Short enough for the journey to wait out after showing the refusal.
		"Ref MinRotateInterval":      MinRotateInterval.String(),
		"GetAtt ConnectionKey.Arn":   ConnectionKeyARN,
		"GetAtt RotateFunction.Arn":  RotateFunctionARN,
		"Ref AccessPolicySecretName": opts.AccessPolicySecret,
		"Ref JwtGroupsClaim":         "cognito:groups",
	}
}

// functionEnv is a function's whole environment: what template.yaml sets,
// resolved for this stack, plus what Lambda and the stand-ins provide.
func functionEnv(opts StackOptions, id string, ends endpoints) ([]string, error) {
	props := opts.Template.FunctionProperties(id)
	values := opts.values()
	env := []string{
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=AKIDDDCONNE2E", // the stand-ins check no signatures
		"AWS_SECRET_ACCESS_KEY=ddconn-e2e",
		"AWS_EC2_METADATA_DISABLED=true",
		// Every function gets both, whether or not it calls the service: a
		// call its policy lacks is then recorded, not sent to AWS.
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + ends.secretsManager,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + ends.eventBridge,
		config.EnvDatadogBaseURL + "=" + ends.datadog,
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

// resolve gives a template value (a literal, Ref, Fn::GetAtt or the string
// form of Fn::Sub) its value in this stack.
func resolve(v any, values map[string]string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any:
		if tmpl, ok := x["Fn::Sub"].(string); ok {
			return substitute(tmpl, values)
		}
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

// substitute is Fn::Sub's string form: each ${Name} is a Ref, each
// ${LogicalId.Attribute} a GetAtt.
func substitute(tmpl string, values map[string]string) (string, error) {
	var out strings.Builder
	rest := tmpl
	for {
		literal, after, found := strings.Cut(rest, "${")
		out.WriteString(literal)
		if !found {
			return out.String(), nil
		}
		name, after, closed := strings.Cut(after, "}")
		if !closed {
			return "", fmt.Errorf("Fn::Sub %q: ${ without }", tmpl)
		}
		key := "Ref " + name
		if strings.Contains(name, ".") {
			key = "GetAtt " + name
		}
		v, ok := values[key]
		if !ok {
			return "", fmt.Errorf("Fn::Sub %q: no local value for ${%s}", tmpl, name)
		}
		out.WriteString(v)
		rest = after
	}
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
func (st *Stack) Calls(id string) []string { return st.calls.operations(id, "secretsmanager:") }

// APICalls lists every Secrets Manager and EventBridge call a function has
// sent, in order, with the permissions they need besides their own.
func (st *Stack) APICalls(id string) []Call { return st.calls.all(id) }

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
	if st.Bus != nil {
		errs = append(errs, st.Bus.Close())
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
