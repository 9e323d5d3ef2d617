package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes: what scripts may branch on (docs/cli.md lists them).
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitError: any other failure (a local file, a bug, an unexpected answer).
	ExitError = 1
	// ExitUsage: the command line is wrong (unknown command or flag, missing argument).
	ExitUsage = 2
	// ExitRefused: the API refused the request (400, 403 from ddconn, 405, 409, 413, 415, 422).
	ExitRefused = 3
	// ExitNotFound: no such connection or managed key (404).
	ExitNotFound = 4
	// ExitAuth: no AWS credentials or token, an expired session, or access
	// denied by the stack's authoriser (401, 403 from API Gateway).
	ExitAuth = 5
	// ExitUnavailable: the API, Datadog or Secrets Manager did not answer
	// (network errors, 5xx).
	ExitUnavailable = 6
	// ExitFailed: the request worked but its subject did not: a validation
	// found invalid keys, or a rotation followed with --wait failed or did
	// not finish in time.
	ExitFailed = 7
)

// IO are the streams a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Run runs the command line args (without the program name) and returns
// the process's exit code. Errors go to stderr, with what to do next.
func Run(ctx context.Context, args []string, stdio IO) int {
	a := newApp(stdio)
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var usage *usageError
	if !a.ran && !errors.As(err, &usage) {
		// cobra refused the command line before any command ran.
		err = usageErrorf("%v\nRun 'ddconn --help' for the commands, 'ddconn COMMAND --help' for one command's flags.", err)
	}
	code, msg := describe(err)
	fmt.Fprintf(stdio.Stderr, "%s %s\n", a.paint(colourRed, "error:"), msg)
	return code
}

// app is one run of the command line: its streams, global flags and the
// API client they resolve to.
type app struct {
	stdio  IO
	getenv func(string) string

	// Global flags.
	endpoint     string
	stack        string
	profile      string
	configFile   string
	auth         string
	region       string
	awsProfile   string
	tokenCommand string
	output       string
	noColour     bool
	timeout      time.Duration
	pollInterval time.Duration

	ran    bool // cobra accepted the command line and a command started
	colour bool // stdout is a terminal and colour is not turned off
	target *target
	api    *client
}

func newApp(stdio IO) *app {
	return &app{stdio: stdio, getenv: os.Getenv}
}

// The output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
)

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ddconn",
		Short: "Operate a ddconn stack: Datadog connections stored in AWS Secrets Manager and kept rotated",
		Long: `ddconn operates a ddconn stack from a terminal or a CI job: it creates and checks
connections, turns rotation on and rotates keys, mints managed keys and sends
provisioning requests. It calls the stack's HTTP API, signed with SigV4 (IAM mode,
the standard AWS credential chain: profiles, SSO, environment, instance roles) or with
a bearer token (JWT mode); against ` + "`make dev`" + ` it needs neither.

Where the API is: --endpoint or DDCONN_ENDPOINT; else --stack or DDCONN_STACK (the
CloudFormation stack's ApiUrl output); else the profile (--profile, DDCONN_PROFILE or
the config file's defaultProfile) in ` + "`$XDG_CONFIG_HOME/ddconn/config.json`" + `.

Keys never go on the command line: they come from a file, stdin, named environment
variables or a prompt that does not echo. Nothing ddconn prints contains a key.

Exit codes: 0 done; 1 other failure; 2 wrong command line; 3 refused by the API; 4 not
found; 5 no or expired credentials, or access denied; 6 API, Datadog or Secrets Manager
unavailable; 7 a validation or a followed rotation failed (docs/cli.md).`,
		Example: `  # Against make dev
  export DDCONN_ENDPOINT=http://127.0.0.1:3000
  ddconn status

  # Against a deployed stack, found by its name, with your AWS SSO profile
  AWS_PROFILE=ops ddconn --stack ddconn connections list -o json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setUp()
		},
	}
	root.SetIn(a.stdio.Stdin)
	root.SetOut(a.stdio.Stdout)
	root.SetErr(a.stdio.Stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v\nRun '%s --help' for its flags.", err, c.CommandPath())
	})

	f := root.PersistentFlags()
	f.StringVar(&a.endpoint, "endpoint", "", "the API's base URL (env DDCONN_ENDPOINT)")
	f.StringVar(&a.stack, "stack", "", "find the API URL in this CloudFormation stack's outputs (env DDCONN_STACK)")
	f.StringVar(&a.profile, "profile", "", "the ddconn profile of the config file to use (env DDCONN_PROFILE)")
	f.StringVar(&a.configFile, "config", "", "the config file (env DDCONN_CONFIG; default $XDG_CONFIG_HOME/ddconn/config.json)")
	f.StringVar(&a.auth, "auth", "", "how to authenticate: iam (SigV4), jwt (bearer token) or none (env DDCONN_AUTH; default none for a loopback endpoint, else iam)")
	f.StringVar(&a.region, "region", "", "the stack's AWS region (default: the profile's region, else from the endpoint's host, else the AWS configuration)")
	f.StringVar(&a.awsProfile, "aws-profile", "", "the AWS profile to sign with (default: the profile's awsProfile, else AWS_PROFILE, else the default profile)")
	f.StringVar(&a.tokenCommand, "token-command", "", "JWT mode: a shell command that prints the bearer token (env DDCONN_TOKEN_COMMAND; DDCONN_TOKEN holds a token itself)")
	f.StringVarP(&a.output, "output", "o", outputTable, "output format: table or json")
	f.BoolVar(&a.noColour, "no-color", false, "no colour, even on a terminal (also NO_COLOR)")
	f.DurationVar(&a.timeout, "timeout", 70*time.Second, "how long one API request may take")
	f.DurationVar(&a.pollInterval, "poll-interval", time.Second, "how often --wait asks how a rotation is going")
	_ = f.MarkHidden("poll-interval")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputTable, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("auth", cobra.FixedCompletions([]string{authIAM, authJWT, authNone}, cobra.ShellCompDirectiveNoFileComp))

	root.AddGroup(&cobra.Group{ID: "main", Title: "Commands:"})
	for _, c := range []*cobra.Command{
		a.statusCommand(), a.connectionsCommand(), a.rotationCommand(), a.rotateCommand(),
		a.keysCommand(), a.apiKeysCommand(), a.eventsCommand(),
	} {
		c.GroupID = "main"
		root.AddCommand(c)
	}
	for _, c := range root.Commands() {
		if c.HasSubCommands() && c.RunE == nil {
			c.RunE = group
		}
	}
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  # bash, for this shell
  source <(ddconn completion bash)
  # zsh, for every new shell
  ddconn completion zsh > "${fpath[1]}/_ddconn"`
			for _, sub := range c.Commands() {
				sub.Example = "  ddconn completion " + sub.Name() + " --help"
			}
		}
	}
	root.SetHelpCommand(&cobra.Command{
		Use:     "help [COMMAND]",
		Short:   "Help about any command",
		Example: "  ddconn help rotate",
		Run: func(c *cobra.Command, args []string) {
			cmd, _, err := c.Root().Find(args)
			if cmd == nil || err != nil {
				cmd = c.Root()
			}
			_ = cmd.Help()
		},
	})
	return root
}

// setUp checks the global flags and decides on colour; every command runs
// it first (root's PersistentPreRunE), once cobra has accepted the command
// line.
func (a *app) setUp() error {
	a.ran = true
	switch a.output {
	case outputTable, outputJSON:
	default:
		return usageErrorf("-o %q: want table or json", a.output)
	}
	a.colour = !a.noColour && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb" && isTerminal(a.stdio.Stdout)
	return nil
}

// run adapts a command's work to cobra's RunE.
func (a *app) run(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return fn(cmd.Context(), args)
	}
}

// args checks a command's positional arguments by their names.
func args(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, got []string) error {
		if len(got) != len(names) {
			want := "no arguments"
			if len(names) > 0 {
				want = strings.Join(names, " ")
			}
			return usageErrorf("%s takes %s, got %d argument(s)\nUsage: %s", c.CommandPath(), want, len(got), c.UseLine())
		}
		return nil
	}
}

// group is the RunE of a command that only groups others: help without
// arguments, a usage error for an unknown subcommand.
func group(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	return usageErrorf("unknown command %q for %q\nRun '%s --help' for its commands.", args[0], c.CommandPath(), c.CommandPath())
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, v ...any) error {
	return &usageError{msg: fmt.Sprintf(format, v...)}
}

// failedError is a request that worked about a subject that failed (a
// validation, a rotation); its message says what to do next.
type failedError struct{ msg string }

func (e *failedError) Error() string { return e.msg }

// refusedError is a request an AWS service refused.
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

// describe maps an error to its exit code and the message for stderr.
func describe(err error) (int, string) {
	var (
		usage  *usageError
		api    *apiError
		auth   *authError
		failed *failedError
		net    *unavailableError
		refuse *refusedError
	)
	switch {
	case errors.As(err, &usage):
		return ExitUsage, err.Error()
	case errors.As(err, &api):
		return api.exitCode(), err.Error()
	case errors.As(err, &auth):
		return ExitAuth, err.Error()
	case errors.As(err, &failed):
		return ExitFailed, err.Error()
	case errors.As(err, &refuse):
		return ExitRefused, err.Error()
	case errors.As(err, &net):
		return ExitUnavailable, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return ExitUnavailable, err.Error() + "\nThe API did not answer in time: try again, or raise --timeout."
	}
	return ExitError, err.Error()
}
