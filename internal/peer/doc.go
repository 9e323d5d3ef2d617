// Package peer starts, for tests, the outside tools the local stand-ins are
// checked against: moto_server (a second implementation of the AWS APIs)
// and the aws CLI (a real client). Both are Python tools that cannot be
// installed by the Makefile; when one is missing the test is skipped with
// the reason and the install hint, never passed silently.
package peer
