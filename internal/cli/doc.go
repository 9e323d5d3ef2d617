// Package cli is the ddconn command line (cmd/ddconn): cobra commands over
// the stack's HTTP API and its EventBridge bus.
//
// Run resolves where the API is (flag, environment, CloudFormation stack
// outputs or a profile of the config file) and how to authenticate (SigV4
// for execute-api with the AWS SDK's standard credential chain, a bearer
// token, or nothing for a loopback endpoint) once per run, then calls the
// API. Answers print as tables or, with -o json, as the API's JSON.
// Errors map to the documented exit codes (ExitOK…ExitFailed) and say
// what to do next.
//
// Keys never come from arguments: they are read from a file, stdin, named
// environment variables or a terminal prompt without echo, sent in a
// request body, and never written to any output; decoding errors name the
// problem, not the content.
//
// The package imports no Datadog client package (the binary stays small),
// so it describes the API's answers with its own small types.
package cli
