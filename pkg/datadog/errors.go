package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"

	"github.com/ddconn/ddconn/pkg/logging"
)

// Sentinel outcomes; every *APIError wraps exactly one of them.
var (
	// ErrUnauthorized means Datadog answered 401 or 403: a key was rejected
	// or a permission is missing (Datadog does not say which).
	ErrUnauthorized = errors.New("datadog rejected the credentials or a permission is missing")
	// ErrNotFound means Datadog answered 404.
	ErrNotFound = errors.New("not found in datadog")
	// ErrBadRequest means Datadog refused the request itself (400, 409, 422…).
	ErrBadRequest = errors.New("datadog refused the request")
	// ErrUnavailable means Datadog could not be reached, or answered 429 or
	// 5xx after the client's retries, or answered with a redirect (3xx),
	// which is never followed.
	ErrUnavailable = errors.New("datadog is unavailable")
)

// Limits on what an APIError copies from an error body, so a hostile or
// broken upstream cannot make our errors (and logs) arbitrarily large.
const (
	maxMessages      = 5
	maxMessageLength = 200
)

// APIError is a failed Datadog call. It wraps one of the sentinel errors and,
// when there is one, the underlying cause (a transport error, for instance).
// It never contains headers or key material.
type APIError struct {
	// Op is the operation, such as "listing application keys".
	Op string
	// Status is the HTTP status, or 0 when no response arrived.
	Status int
	// Messages are the human-readable errors from Datadog's response body.
	Messages []string

	kind  error
	cause error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "datadog: %s: ", e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	} else {
		b.WriteString(e.kind.Error())
	}
	if len(e.Messages) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(e.Messages, "; "))
	}
	return b.String()
}

// Unwrap exposes the sentinel and the cause to errors.Is and errors.As.
func (e *APIError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// translate turns the (response, error) pair of a client call into an
// *APIError. Anything shaped like a key is scrubbed from the messages
// Datadog sends back.
func translate(op string, resp *http.Response, err error) error {
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	var oe dd.GenericOpenAPIError
	switch {
	case status >= 300 && status < 400:
		// Redirects are never followed (see noRedirects): the keys would
		// travel to wherever the Location points.
		return &APIError{Op: op, Status: status, Messages: []string{"Datadog answered with a redirect, which ddconn never follows"}, kind: ErrUnavailable}
	case status >= 300 && errors.As(err, &oe):
		return &APIError{Op: op, Status: status, Messages: bodyMessages(oe.Body()), kind: kindOf(status)}
	case status >= 200 && status < 300:
		// The call succeeded but the body did not decode: Datadog (or
		// whatever answered) is not behaving like Datadog.
		return &APIError{Op: op, Status: status, Messages: []string{"the response could not be decoded"}, kind: ErrUnavailable, cause: err}
	case isTransport(err):
		return &APIError{Op: op, Messages: []string{"Datadog could not be reached"}, kind: ErrUnavailable, cause: err}
	default:
		// Errors raised before any request is sent (a bad server variable,
		// for instance) are bugs in this package, not Datadog outcomes.
		return fmt.Errorf("datadog: %s: %w", op, err)
	}
}

// unexpected builds an *APIError for a 2xx answer whose content is unusable.
func unexpected(op string, status int, message string) error {
	return &APIError{Op: op, Status: status, Messages: []string{message}, kind: ErrUnavailable}
}

func kindOf(status int) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrUnauthorized
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusTooManyRequests || status >= 500:
		return ErrUnavailable
	default:
		return ErrBadRequest
	}
}

func isTransport(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// bodyMessages extracts the messages of Datadog's two error shapes,
// {"errors":["…"]} and JSON:API {"errors":[{"title","detail"}]}. Anything
// else (an HTML page from a proxy, say) yields no messages.
func bodyMessages(body []byte) []string {
	var doc struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []string
	for _, raw := range doc.Errors {
		if len(out) == maxMessages {
			break
		}
		if m := errorItem(raw); m != "" {
			out = append(out, scrub(m))
		}
	}
	return out
}

func errorItem(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var item struct{ Title, Detail string }
	if json.Unmarshal(raw, &item) != nil {
		return ""
	}
	switch {
	case item.Title != "" && item.Detail != "":
		return item.Title + ": " + item.Detail
	case item.Detail != "":
		return item.Detail
	default:
		return item.Title
	}
}

// scrub removes every key-shaped string from a message (the caller's keys,
// and any other key a message quotes, such as a scope that was pasted key
// material), then bounds its length. Scrubbing comes first, so the cut
// cannot leave part of a key too short to be recognised.
func scrub(m string) string {
	m = logging.Scrub(m)
	if len(m) > maxMessageLength {
		m = strings.ToValidUTF8(m[:maxMessageLength], "") + "…"
	}
	return m
}
