// Package deploy reads and checks what ddconn ships to AWS: template.yaml
// (AWS SAM), samconfig.toml and the Makefile targets SAM's makefile builder
// calls. Its code reads a template (Load, with CloudFormation's short-form
// intrinsics in long form, and the IAM statements each function holds); the
// e2e harness uses it too. Its tests are the proof, run by `make test`:
//
//   - every function in the template has its build-<LogicalId> target and its
//     functions/<folder>/main.go, and is built the Lambda way (provided.al2023,
//     arm64, bootstrap);
//   - the HTTP API routes equal the handlers' route table (httpapi.Routes),
//     in both directions, and every route is authorised;
//   - Secrets Manager and KMS permissions are scoped to the connection secrets
//     and the connection key (the one documented exception: ListSecrets,
//     which AWS only grants on "*"), each function holds only the actions it
//     calls, each Secrets Manager action reaches only the secrets it needs
//     (staging secrets: <prefix>staging/* alone), and no statement grants on
//     Resource "*";
//   - only the create and rotate functions may publish events: PutEvents on
//     the EventBusName bus alone, for source "ddconn" alone;
//   - the EventBridge rule feeding the create function matches exactly the
//     request source and types of pkg/provisioning, retries, and dead-letters
//     what it cannot deliver; the create function dead-letters what still
//     fails after Lambda's retries; every dead-letter queue is encrypted,
//     keeps messages 14 days, has an alarm and an output, and only the rule
//     that dead-letters to a queue may send to it through a queue policy;
//   - every environment variable a function reads (pkg/config) is set;
//   - cfn-lint accepts the template (skipped when cfn-lint is not installed);
//   - `make build-<LogicalId>` writes a linux/arm64 ELF named bootstrap within
//     the size budget (skipped by `go test -short`), and `make bootstraps`
//     builds every function with those targets into the folder the tests
//     read. Under `make unit` the test inspects the bootstraps `make
//     bootstraps` built before go test started (DDCONN_BOOTSTRAPS); run by
//     hand, it builds them itself, which takes minutes the first time.
package deploy
