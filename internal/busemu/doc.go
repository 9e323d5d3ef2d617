// Package busemu is a local Amazon EventBridge for ddconn's tests and
// `make dev`: PutEvents over HTTP in the AWS JSON 1.1 protocol, well enough
// for the unmodified aws-sdk-go-v2 client (BaseEndpoint or
// AWS_ENDPOINT_URL_EVENTBRIDGE) and the aws CLI (--endpoint-url), plus
// rules that deliver matching events to targets the way EventBridge invokes
// a Lambda function asynchronously.
//
// # Protocol
//
// Requests are POST / with X-Amz-Target: AWSEvents.PutEvents and a JSON
// body; SigV4 headers are accepted without verification. Errors are
// {"__type": "...", "message": "..."} with HTTP 400, except
// InternalException (500). Any other target answers 400
// UnknownOperationException; a body that is not PutEvents JSON answers 400
// SerializationException. Put is the same operation in process.
//
// # PutEvents
//
// The whole request fails (HTTP 400 ValidationException, nothing recorded)
// when Entries is missing or empty, holds more than 10 entries, an
// EventBusName does not match the model's pattern (a name of
// [.-_A-Za-z0-9], or arn:aws…:events:<region>:<account>:event-bus/<name>),
// a resource exceeds 2048 characters, or the entries together exceed 256
// KiB counted as "Calculating PutEvents event entry size" says: the UTF-8
// bytes of Source, DetailType, Detail and each resource, plus 14 for a
// Time. Otherwise the answer is 200 with one result per entry, in order,
// and FailedEntryCount; an entry fails alone, in this order of checks:
//   - no Source, DetailType or Detail: InvalidArgument "Parameter X is not
//     valid. Reason: X is a required argument." (an empty string counts as
//     missing);
//   - Detail not a JSON object (invalid JSON, an array, a string, null):
//     MalformedDetail "Detail is malformed.";
//   - a Source starting with "aws.": NotAuthorizedForSourceException "Not
//     authorized for the source.";
//   - a DetailType over 128 characters: InvalidArgument.
//
// An accepted entry gets a random UUID as EventId and is recorded as the
// envelope a Lambda target receives (Event, aws-lambda-go's
// events.EventBridgeEvent): version "0", id, detail-type, source, account,
// time (the entry's Time or now, UTC, whole seconds, RFC 3339), region,
// resources ([] when none) and detail (the compacted JSON object).
// EventBusName is a bus name or ARN; "" is the default bus, which always
// exists, and Options.Buses adds others. An entry for a bus that does not
// exist is accepted, answered with an EventId and dropped — it reaches no
// rule — exactly as EventBridge does; the stand-in keeps it in Dropped()
// and logs a warning.
//
// The evidence for these answers is listed per case in
// testdata/conformance.json: the API reference, the localstack test
// snapshots recorded against AWS (2024-12-06), and AWS answers quoted in
// public issues (aws/aws-cli#9186, aws-samples/serverless-patterns#3089).
//
// # Rules and delivery
//
// AddRule matches events of one bus by source and detail-type (an empty
// list matches anything, like an event pattern without that field) and
// hands the envelope to a Target. Delivery is asynchronous, like an
// EventBridge rule invoking a Lambda function: one attempt, then a retry
// after each of Options.RetryDelays (default: Lambda's one and two
// minutes), then the event is dead-lettered (DeadLetters). A panicking
// target counts as a failed attempt. Idle waits until nothing is in flight
// or waiting for a retry; Close cancels the targets' context, abandons
// pending retries and waits.
//
// A rule's InputTransformer replaces the envelope its target receives
// with a rendered JSON object template: InputPathsMap's dot-notation paths
// and the predefined variables aws.events.rule-arn (rule/<name> on the
// default bus, rule/<bus>/<name> on another), aws.events.rule-name,
// aws.events.event.ingestion-time, aws.events.event and
// aws.events.event.json. AddRule refuses what PutTargets would (more than
// 100 variables, "aws." names, templates over 8192 characters, the event
// variables inside a string).
//
// Inject injects an event that no PutEvents produced (`make dev`'s POST
// /_dev/events): it completes a partial envelope (id, time, account,
// region, version, resources), records it and hands it to the matching
// rules of every bus, since an envelope names no bus; InjectOn, to those
// of one bus.
//
// Events, EventsOf (by source and detail-type) and Dropped return copies of
// what was recorded. Nothing logs an event's Detail: records carry event
// ids, buses, sources, detail-types, rule names and error codes.
//
// # Faults
//
// FailNext(n, fault) makes the next n PutEvents calls fail: an HTTP 500
// InternalException, an HTTP 400 ThrottlingException "Rate exceeded", the
// first entry failed with InternalFailure (HTTP 200), or a lost answer —
// the request is processed and its events recorded, then the connection is
// closed without a response (Put returns ErrAnswerLost). The SDK retries
// the first two and the lost answer, so a lost answer yields a duplicate
// event, as it would on AWS.
//
// # Deviations
//
// Known differences from AWS, deliberate or unconfirmed:
//   - AWS echoes every entry (Detail included) in the message of the
//     "more than 10 entries" ValidationException; the stand-in gives the
//     count instead, so event data never reaches a log.
//   - The size limit is the documented 256 KiB. AWS raised the EventBridge
//     event size limit to 1 MB on 2026-01-29 (reported by third parties;
//     the API reference still says 256 KB), so real AWS may accept entries
//     the stand-in refuses. ddconn's publisher keeps to 256 KiB as well.
//   - The API reference says a request in which no entry has Source,
//     DetailType and Detail fails as a whole; AWS was observed answering
//     200 with per-entry InvalidArgument for a one-entry request, which the
//     stand-in follows for any number of entries.
//   - Unconfirmed wording or status: the messages of the model-constraint
//     ValidationExceptions (empty Entries, EventBusName, resources), the
//     DetailType-length failure (code and message), the check order within
//     an entry, the error body's "message" key, UnknownOperationException
//     (seen from other AWS JSON 1.1 services), and InternalException's
//     message.
//   - An empty Source, DetailType or Detail counts as missing.
//   - Input transformer, unconfirmed: a path that matches nothing renders
//     as null (in a string: "null"); a non-string value inside a string
//     is its JSON, escaped (the user guide says AWS removes its inner
//     quotes); text between '<' and '>' naming no variable is kept.
//   - A bus ARN of another account or region is treated as an unknown bus
//     (accepted and dropped); AWS would deliver it cross-account if allowed
//     or refuse it.
//   - Not implemented: every other operation (rules come from AddRule, not
//     PutRule), event patterns beyond source and detail-type, text (non
//     JSON) input templates, array indices and wildcards in input paths,
//     archives and replays, global endpoints (EndpointId is
//     ignored), TraceHeader, SigV4 verification, and Lambda's longer
//     retries of throttled invocations. Delivery is not persisted.
//
// Known moto deviations are listed, each with what moto does, in
// testdata/conformance.json, whose cases skip moto for them
// (BUSEMU_CONFORMANCE_ALL=1 runs them to confirm they still fail): moto
// refuses a whole request for an unknown bus (400 ResourceNotFoundException),
// accepts a Detail that is valid JSON but not an object, accepts reserved
// "aws." sources, has no size limit, and answers an unknown target with an
// HTML 500.
package busemu
