package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// invokePath is the Lambda Invoke API path the RIE serves.
const invokePath = "/2015-03-31/functions/function/invocations"

// ProcessOptions configures Start.
type ProcessOptions struct {
	// RIE is the path of the aws-lambda-rie binary.
	RIE string
	// Bootstrap is the function binary the RIE runs on the first invoke.
	Bootstrap string
	// Env is the whole environment, KEY=VALUE: the RIE hands its own
	// environment to the function, so nothing from the caller's leaks in.
	Env []string
	// Output receives the RIE's and the function's output; nil discards it.
	Output io.Writer
	// LogLevel is the RIE's own log level; "" means "warn". At "info" the RIE
	// logs each init's duration ("INIT REPORT(durationMs: …)").
	LogLevel string
}

// Process is one function running under its own RIE. Like a Lambda
// execution environment it handles one invocation at a time: the RIE answers
// 400 to a second concurrent invoke.
type Process struct {
	url     string
	cmd     *exec.Cmd
	started time.Time
	client  *http.Client
	exited  chan struct{}
	waitErr error
}

// Start launches the RIE with the function. It returns at once; the first
// Invoke waits for the RIE to listen, then the RIE starts the function.
func Start(opts ProcessOptions) (*Process, error) {
	if _, err := os.Stat(opts.RIE); err != nil {
		return nil, fmt.Errorf("runtime interface emulator: %w (run make tools)", err)
	}
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr() // each RIE needs its own Runtime API port
	if err != nil {
		return nil, err
	}
	level := opts.LogLevel
	if level == "" {
		level = "warn"
	}
	cmd := exec.Command(opts.RIE, "--log-level", level,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		opts.Bootstrap)
	cmd.Env = opts.Env
	cmd.Dir = filepath.Dir(opts.Bootstrap)
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own, so Close stops the RIE and the function
	// it started together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Process{
		url:    "http://" + invokeAddr,
		cmd:    cmd,
		client: &http.Client{Timeout: 10 * time.Minute},
		exited: make(chan struct{}),
	}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the RIE: %w", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// URL is the RIE's endpoint, such as "http://127.0.0.1:41234"; the Invoke
// API is under it (smemu.RIEInvoker takes it as Endpoint).
func (p *Process) URL() string { return p.url }

// Started is when the RIE process was started.
func (p *Process) Started() time.Time { return p.started }

// FunctionError is a function's error answer: the Lambda runtime reports an
// unhandled error as {"errorType": …, "errorMessage": …}.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return "function error " + e.Type + ": " + e.Message }

// Invoke sends one event and returns the function's answer. Until the RIE
// listens, connection attempts are retried; a function error is returned as
// a *FunctionError.
func (p *Process) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	for {
		body, err := p.post(ctx, payload)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return body, err
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("the RIE exited before answering: %v", p.waitErr)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the RIE to listen: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

func (p *Process) post(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+invokePath, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke answered HTTP %d", resp.StatusCode)
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) == nil && fe.Type != "" {
		return body, &fe
	}
	return body, nil
}

// PeakRSS is the function process's peak resident set size in bytes
// (VmHWM), read from /proc. The function must have been invoked.
func (p *Process) PeakRSS() (int64, error) {
	pid, err := childOf(p.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the function's status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// childOf finds the process whose parent is ppid: the function the RIE
// started.
func childOf(ppid int) (int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // the process ended meanwhile
		}
		// pid (comm) state ppid …; comm may contain spaces and parentheses.
		fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			return strconv.Atoi(filepath.Base(filepath.Dir(path)))
		}
	}
	return 0, fmt.Errorf("the RIE (pid %d) has not started the function", ppid)
}

// Close stops the RIE and the function.
func (p *Process) Close() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	// Negative pid: the whole process group started by Start.
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping the RIE: %w", err)
	}
	<-p.exited
	return nil
}
