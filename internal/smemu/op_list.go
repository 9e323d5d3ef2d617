package smemu

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Filter keys ListSecrets accepts, in the order its validation message lists them.
var filterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

var filterValuePattern = regexp.MustCompile(`^!?[a-zA-Z0-9 :_@/+=.\-!]*$`)

// Sort fields and orders ListSecrets accepts.
var (
	sortFields = []string{"created-date", "last-accessed-date", "last-changed-date", "name"}
	sortOrders = []string{"asc", "desc"}
)

func (e *Emulator) listSecrets(in listSecretsInput) (listSecretsOutput, error) {
	if err := checkListInput(in); err != nil {
		return listSecretsOutput{}, err
	}
	sortBy := cmp.Or(in.SortBy, "created-date")
	e.mu.Lock()
	defer e.mu.Unlock()
	e.purgeExpiredLocked()
	// Each secret's sort key is computed once, not in every comparison:
	// ListSecrets sorts every secret on each call, and at tens of
	// thousands of secrets formatting keys inside the sort would make the
	// emulator, not the caller, the slow part.
	var found []keyed
	for _, s := range e.secrets {
		if (!s.deleted() || in.IncludePlannedDeletion) && matchesAll(s, in.Filters) {
			found = append(found, keyed{s: s, key: sortKey(s, sortBy)})
		}
	}
	desc := in.SortOrder == "desc"
	slices.SortFunc(found, func(a, b keyed) int {
		if desc {
			return strings.Compare(b.key, a.key)
		}
		return strings.Compare(a.key, b.key)
	})
	cursor := pageCursor{scope: "secrets/" + sortBy + "/" + cmp.Or(in.SortOrder, "asc"), desc: desc, limit: in.MaxResults, token: in.NextToken}
	pageOf, next, err := paginate(found, func(k keyed) string { return k.key }, cursor)
	if err != nil {
		return listSecretsOutput{}, err
	}
	out := listSecretsOutput{SecretList: []listedSecret{}, NextToken: next}
	for _, k := range pageOf {
		out.SecretList = append(out.SecretList, listedSecret{secretMetadata: metadata(k.s), SecretVersionsToStages: k.s.labelled()})
	}
	return out, nil
}

// keyed is a listed secret with its sort key.
type keyed struct {
	s   *secret
	key string
}

// sortKey orders secrets by the requested field, then by creation, so the
// order — and with it NextToken — is stable.
func sortKey(s *secret, sortBy string) string {
	seq := fmt.Sprintf("%020d", s.Seq)
	switch sortBy {
	case "name":
		return s.Name + tokenSeparator + seq
	case "last-changed-date":
		return timeKey(s.LastChanged) + "/" + seq
	case "last-accessed-date":
		return timeKey(deref(s.LastAccessed)) + "/" + seq
	}
	return seq
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return fmt.Sprintf("%020d", 0)
	}
	return fmt.Sprintf("%020d", t.UnixNano())
}

func checkListInput(in listSecretsInput) error {
	if err := checkPageSize(in.MaxResults); err != nil {
		return err
	}
	if in.SortBy != "" && !slices.Contains(sortFields, in.SortBy) {
		return errEnum("sortBy", in.SortBy, sortFields)
	}
	if in.SortOrder != "" && !slices.Contains(sortOrders, in.SortOrder) {
		return errEnum("sortOrder", in.SortOrder, sortOrders)
	}
	if len(in.Filters) > maxFilters {
		return errConstraint("filters", fmt.Sprintf("must have length less than or equal to %d", maxFilters))
	}
	for i, f := range in.Filters {
		if err := checkFilter(i+1, f); err != nil {
			return err
		}
	}
	return nil
}

func checkFilter(n int, f filter) error {
	switch {
	case f.Key == "":
		return newAPIError(typeInvalidParameter, "Invalid filter key")
	case !slices.Contains(filterKeys, f.Key):
		return errEnum(fmt.Sprintf("filters.%d.member.key", n), f.Key, filterKeys)
	case len(f.Values) == 0:
		return newAPIError(typeInvalidParameter, "Invalid filter values for key: %s", f.Key)
	case len(f.Values) > maxFilterValues:
		return errConstraint(fmt.Sprintf("filters.%d.member.values", n), fmt.Sprintf("must have length less than or equal to %d", maxFilterValues))
	}
	for _, v := range f.Values {
		if len(v) > maxFilterValueLen || !filterValuePattern.MatchString(v) {
			return errConstraint(fmt.Sprintf("filters.%d.member.values", n), "must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$")
		}
	}
	return nil
}

// errEnum reports a value outside an enumeration; enum values are not
// secret, so the value is echoed as AWS does.
func errEnum(field, value string, allowed []string) *apiError {
	return newAPIError(typeValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", value, field, strings.Join(allowed, ", "))
}

// matchesAll reports whether s passes every filter: filters combine with
// AND (even with the same key), the values of one filter with OR.
func matchesAll(s *secret, filters []filter) bool {
	for _, f := range filters {
		if !slices.ContainsFunc(f.Values, func(v string) bool { return matchesValue(s, f.Key, v) }) {
			return false
		}
	}
	return true
}

// matchesValue applies one filter value; a leading "!" negates it.
func matchesValue(s *secret, key, value string) bool {
	negate := strings.HasPrefix(value, "!")
	value = strings.TrimPrefix(value, "!")
	return matchesKey(s, key, value) != negate
}

func matchesKey(s *secret, key, value string) bool {
	switch key {
	case "name":
		return strings.HasPrefix(s.Name, value)
	case "tag-key":
		return slices.ContainsFunc(s.Tags, func(t tag) bool { return strings.HasPrefix(t.Key, value) })
	case "tag-value":
		return slices.ContainsFunc(s.Tags, func(t tag) bool { return strings.HasPrefix(t.Value, value) })
	case "description":
		return wordsMatch(value, []string{s.Description})
	case "all":
		return wordsMatch(value, searchableText(s))
	}
	// primary-region and owning-service: the emulator has neither replicas
	// nor service-owned secrets, so nothing matches.
	return false
}

func searchableText(s *secret) []string {
	text := []string{s.Name, s.Description}
	for _, t := range s.Tags {
		text = append(text, t.Key, t.Value)
	}
	return text
}

// wordsMatch is the word search of the description and all filters: every
// word of the value must be a case-insensitive prefix of some word of one
// attribute ("o t" matches "one two").
func wordsMatch(value string, attributes []string) bool {
	want := words(value)
	if len(want) == 0 {
		return false
	}
	for _, attr := range attributes {
		have := words(attr)
		if allPrefixed(want, have) {
			return true
		}
	}
	return false
}

func allPrefixed(want, have []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.HasPrefix(h, w) }) {
			return false
		}
	}
	return true
}

const nameSeparators = "/-_+=.@"

// camelWord finds "word starts here" boundaries: a non-lowercase character
// followed by lowercase ones ("MyTest" → My, Test; "COMPANYthings" →
// COMPAN, Ythings), the splitting observed on Secrets Manager.
var camelWord = regexp.MustCompile(`[^a-z][a-z]+`)

// words splits text the way Secrets Manager's search does, lower-cased:
// on spaces; then on a name separator when a token uses only one kind of
// separator, then on camel case. A token mixing separator kinds stays one
// word: AWS never finds "prod-AppBeta/x" by "AppBeta".
func words(text string) []string {
	var out []string
	for _, token := range strings.Fields(text) {
		for _, w := range splitToken(token) {
			out = append(out, strings.ToLower(w))
		}
	}
	return out
}

func splitToken(token string) []string {
	var kinds []rune
	for _, r := range nameSeparators {
		if strings.ContainsRune(token, r) {
			kinds = append(kinds, r)
		}
	}
	switch len(kinds) {
	case 0:
		return splitCamel(token)
	case 1:
		var out []string
		for _, part := range strings.Split(token, string(kinds[0])) {
			out = append(out, splitCamel(part)...)
		}
		return out
	}
	return []string{token}
}

func splitCamel(part string) []string {
	var out []string
	prev := 0
	for _, m := range camelWord.FindAllStringIndex(part, -1) {
		out = append(out, part[prev:m[0]], part[m[0]:m[1]])
		prev = m[1]
	}
	out = append(out, part[prev:])
	return slices.DeleteFunc(out, func(p string) bool { return p == "" })
}
