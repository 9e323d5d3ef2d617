package eventbus

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ddconn/ddconn/pkg/awsid"
)

// EventBridge's limits on a PutEvents entry.
const (
	// maxDetailTypeLength is the longest detail-type, in characters.
	maxDetailTypeLength = 128
	// MaxEntrySize is the largest entry, in bytes, counted as EventBridge
	// does ("Calculating PutEvents event entry size"): the UTF-8 bytes of
	// the source, the detail-type, the detail and each resource. It is the
	// documented 256 KiB; AWS has since raised its limit (see doc.go).
	MaxEntrySize = 256 * 1024
	// maxResourceLength is the longest resource the API model allows.
	maxResourceLength = 2048
	// maxBusLength is the longest bus name or ARN the API model allows.
	maxBusLength = 1600
)

// entrySize counts an entry as EventBridge does; Publish sets no Time, which
// would add 14.
func entrySize(source, detailType string, detail []byte, resources []string) int {
	n := len(source) + len(detailType) + len(detail)
	for _, r := range resources {
		n += len(r)
	}
	return n
}

// checkEntry refuses, before any call, what EventBridge would refuse.
func checkEntry(source, detailType string, detail []byte, resources []string) error {
	switch n := utf8.RuneCountInString(detailType); {
	case n == 0:
		return fmt.Errorf("%w: the detail-type is empty", ErrRejected)
	case n > maxDetailTypeLength:
		return fmt.Errorf("%w: the detail-type has %d characters, more than %d", ErrRejected, n, maxDetailTypeLength)
	}
	if len(detail) == 0 || detail[0] != '{' {
		// json.Marshal output starts with '{' exactly when it is an object.
		return fmt.Errorf("%w: the detail is not a JSON object", ErrRejected)
	}
	for _, r := range resources {
		if utf8.RuneCountInString(r) > maxResourceLength {
			return fmt.Errorf("%w: a resource has more than %d characters", ErrRejected, maxResourceLength)
		}
	}
	if size := entrySize(source, detailType, detail, resources); size > MaxEntrySize {
		return fmt.Errorf("%w: the entry is %d bytes, more than %d", ErrRejected, size, MaxEntrySize)
	}
	return nil
}

// checkBus checks a bus name or ARN against the API model's pattern,
// (arn:aws[\w-]*:events:<region>:<12 digits>:event-bus/)?[.\-_A-Za-z0-9]+,
// by hand: a typo here would otherwise surface only as a refused call.
func checkBus(bus string) error {
	if len(bus) > maxBusLength {
		return fmt.Errorf("eventbus: bus %q is longer than %d characters", bus, maxBusLength)
	}
	name := bus
	if strings.HasPrefix(bus, "arn:") {
		parts := strings.SplitN(bus, ":", 6)
		if len(parts) != 6 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "events" || parts[3] == "" || !awsid.IsAccountID(parts[4]) {
			return fmt.Errorf("eventbus: %q is not an event bus ARN", bus)
		}
		var ok bool
		if name, ok = strings.CutPrefix(parts[5], "event-bus/"); !ok {
			return fmt.Errorf("eventbus: %q is not an event bus ARN", bus)
		}
	}
	if !isBusName(name) {
		return fmt.Errorf("eventbus: %q is not a valid event bus name", bus)
	}
	return nil
}

func isBusName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '.' || c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
