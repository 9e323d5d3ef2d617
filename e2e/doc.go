// Package e2e runs the binaries ddconn ships under AWS's Lambda Runtime
// Interface Emulator (RIE), against the in-process stand-ins for Secrets
// Manager (internal/smemu), EventBridge (internal/busemu) and Datadog
// (internal/ddsim).
//
// The functions are built by the Makefile's own build-<LogicalId> targets,
// only for the host architecture (the RIE runs only binaries of its own):
// `make e2e` builds them with `make bootstraps` before go test starts and
// names their folder in DDCONN_BOOTSTRAPS; run by hand, the tests build them
// first. They are driven with the event shapes AWS sends them (one copy of
// each in internal/testkit): API Gateway HTTP API v2 events
// (IAM-authorised), Secrets Manager rotation events, EventBridge scheduled
// events and the provisioning requests an EventBridge rule delivers. The Secrets Manager
// emulator invokes the rotate binary through its RIE endpoint, as Secrets
// Manager invokes the deployed function; the functions publish their
// outcome events to the bus's default bus, the template's EventBusName.
//
// Each function reaches Secrets Manager and EventBridge through endpoints
// of its own, so the stack records every call it sends (Stack.APICalls)
// and the tests check each against the IAM policy template.yaml gives it.
//
// The same HTTP requests sent to the functions and to `make dev`'s
// in-process server (internal/devstack) must get the same answers, apart
// from ids, ARNs and times (TestParityWithDevStack).
//
// The package is the harness; the end-to-end tests are behind the build tag
// e2e (`make e2e`), and `make bench` (scripts/bench) measures the same
// processes. Both need the RIE binary that `make tools` installs in .bin/.
package e2e
