// Package testkit is what ddconn's tests share; nothing that ships imports
// it.
//
//   - AssertNoKeyMaterial is the key-leak check: every test that sees an
//     output (an answer, a log, a metric, an event, a tag) checks it with
//     this one function, so every test holds ddconn to the same promise.
//   - Event returns the event payloads AWS sends the functions (a rotation
//     step, a scheduled event, an HTTP API request, …), one copy each in
//     testdata/, for the functions' unit tests and the e2e harness alike.
//   - Bootstrap finds the function binaries `make bootstraps` builds, so a
//     test does not compile them under go test's timeout.
//   - SetAWSCABundle sets AWS_CA_BUNDLE as build machines do, for the
//     adapters' tests that pass their own *http.Client.
//   - Recorder is the fake event handler of the functions' dispatch tests.
//   - LoadCases, RunCases, PostAWSJSON and AWSErrorCode run the AWS
//     stand-ins' conformance tables against the stand-in and against moto.
package testkit
