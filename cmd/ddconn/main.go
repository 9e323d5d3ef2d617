// Command ddconn is the operators' command line for a ddconn stack: it
// calls the stack's HTTP API (signed with SigV4 in IAM mode, with a bearer
// token in JWT mode, plain against `make dev`) and puts provisioning
// requests on its EventBridge bus. `ddconn --help` lists the commands;
// docs/cli.md describes them, their output and their exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ddconn/ddconn/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
