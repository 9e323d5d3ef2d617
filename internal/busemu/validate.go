package busemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ddconn/ddconn/pkg/awsid"
)

// PutEvents limits.
const (
	// maxEntries is the most entries one PutEvents request may carry.
	maxEntries = 10
	// maxRequestSize is the largest total entry size of one request, in
	// bytes, counted as "Calculating PutEvents event entry size" describes
	// (see entrySize).
	maxRequestSize = 256 * 1024
	// maxDetailTypeLength is the longest DetailType, in characters.
	maxDetailTypeLength = 128
	// timeSize is what a specified Time counts towards the entry size.
	timeSize = 14
	// Model constraints of the service's API definition.
	maxBusNameLength  = 1600
	maxResourceLength = 2048
)

// entrySize is an entry's size as EventBridge computes it: the UTF-8 bytes
// of Source, DetailType, Detail and each resource, plus 14 for a Time.
func entrySize(e Entry) int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	for _, r := range e.Resources {
		n += len(r)
	}
	if !e.Time.IsZero() {
		n += timeSize
	}
	return n
}

// checkRequest applies the checks that fail a whole request, in the order
// the service applies them: the model's constraints, then the size limit.
func checkRequest(entries []Entry) *APIError {
	switch {
	case entries == nil:
		return errConstraint("entries", "must not be null")
	case len(entries) == 0:
		return errConstraint("entries", "must have length greater than or equal to 1")
	case len(entries) > maxEntries:
		return errTooManyEntries(len(entries))
	}
	total := 0
	for i, e := range entries {
		if err := checkEntryModel(i, e); err != nil {
			return err
		}
		total += entrySize(e)
	}
	if total > maxRequestSize {
		return errTooLarge()
	}
	return nil
}

func checkEntryModel(i int, e Entry) *APIError {
	member := func(field string) string { return fmt.Sprintf("entries.%d.member.%s", i+1, field) }
	if e.EventBusName != "" {
		if _, ok := parseBusRef(e.EventBusName); !ok {
			return errConstraint(member("eventBusName"), "must satisfy regular expression pattern: (arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\.\\-_A-Za-z0-9]+")
		}
	}
	for _, r := range e.Resources {
		if utf8.RuneCountInString(r) > maxResourceLength {
			return errConstraint(member("resources"), "must have length less than or equal to 2048")
		}
	}
	return nil
}

// checkEntry applies the checks that fail one entry; it returns the
// entry's ErrorCode and ErrorMessage, or "" when the entry is accepted.
func checkEntry(e Entry) (code, message string) {
	switch {
	case e.Source == "":
		return codeInvalidArgument, "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return codeInvalidArgument, "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == "":
		return codeInvalidArgument, "Parameter Detail is not valid. Reason: Detail is a required argument."
	case !isJSONObject(e.Detail):
		return codeMalformedDetail, "Detail is malformed."
	case strings.HasPrefix(e.Source, "aws."):
		return codeNotAuthorized, "Not authorized for the source."
	case utf8.RuneCountInString(e.DetailType) > maxDetailTypeLength:
		return codeInvalidArgument, "Parameter DetailType is not valid. Reason: DetailType is longer than 128 characters."
	}
	return "", ""
}

// isJSONObject reports whether s is one valid JSON object.
func isJSONObject(s string) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &v) == nil && v != nil
}

// compactJSON returns s without insignificant whitespace; s is valid JSON.
func compactJSON(s string) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return json.RawMessage(s)
	}
	return buf.Bytes()
}

// busRef is an EventBusName: a bare name, or an ARN's name with its region
// and account.
type busRef struct {
	name, region, account string
}

// parseBusRef checks an EventBusName against the model's pattern, by hand:
// an optional "arn:aws…:events:<region>:<12 digits>:event-bus/" and a name.
func parseBusRef(s string) (busRef, bool) {
	if len(s) > maxBusNameLength {
		return busRef{}, false
	}
	if !strings.HasPrefix(s, "arn:") {
		return busRef{name: s}, awsid.IsEventBusName(s)
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "events" ||
		!isRegion(parts[3]) || !awsid.IsAccountID(parts[4]) {
		return busRef{}, false
	}
	name, ok := strings.CutPrefix(parts[5], "event-bus/")
	if !ok || !awsid.IsEventBusName(name) {
		return busRef{}, false
	}
	return busRef{name: name, region: parts[3], account: parts[4]}, true
}

// isRegion loosely matches [a-z]+-[a-z]+-[\w-]+ such as "us-east-1".
func isRegion(s string) bool {
	if strings.Count(s, "-") < 2 || strings.HasPrefix(s, "-") {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || isAlnum(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
