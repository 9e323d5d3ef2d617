// Package eventbus is ddconn's adapter over Amazon EventBridge
// (aws-sdk-go-v2/service/eventbridge), the only package that imports that
// SDK. A Publisher puts ddconn's events — source "ddconn", detail-types
// such as "Connection Created", "Provisioning Failed" and "Rotation
// Failed" — on one bus with PutEvents, one event per call.
//
// Publish refuses before sending what EventBridge would refuse: a detail
// that is not a JSON object, an empty detail-type or one over 128
// characters, a resource over 2048 characters, and an entry over
// MaxEntrySize (256 KiB) counted as "Calculating PutEvents event entry
// size" describes. AWS raised its event size limit to 1 MB in January 2026
// (reported by third parties; the API reference still says 256 KB); the
// publisher keeps the documented 256 KiB, which every region and the
// local stand-in accept.
//
// PutEvents answers HTTP 200 even when the entry failed; Publish turns a
// failed entry into an *EntryError. Every error of Publish reads
// `publishing "<detail-type>" to bus <bus>: …` and wraps ErrRejected
// (refused: validation, size, source not authorised, access denied) or
// ErrUnavailable (throttling or server errors after the SDK's retries,
// a retryable entry failure, network failures, ended contexts), so callers
// branch with errors.Is. Errors never contain the detail.
//
// Two behaviours of EventBridge callers must know:
//   - An event for a bus that does not exist is accepted with an event id
//     and silently dropped (aws/aws-cli#9186). Publish cannot tell; the
//     deployment must create the bus it names.
//   - The SDK retries a request whose answer was lost; if EventBridge had
//     accepted the first, the event is published twice, with two ids.
//     Consumers deduplicate on the detail's own keys, not the event id.
//
// The endpoint is the SDK's choice (AWS_ENDPOINT_URL_EVENTBRIDGE) unless
// Options.Endpoint names one, which is how dev and tests reach the local
// stand-in, internal/busemu.
package eventbus
