package ddsim

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paging limits shared by every list endpoint (page[size] ≤ 100, default 10).
const (
	defaultPageSize = 10
	maxPageSize     = 100
)

// page is a parsed page[size] / page[number] pair; number counts from 0.
type page struct {
	size, number int
}

// parsePage reads page[size] and page[number]. Sizes outside 1–100 and
// negative numbers are 400s rather than silently clamped, so callers notice.
func parsePage(q url.Values) (page, error) {
	p := page{size: defaultPageSize}
	var err error
	if v := q.Get("page[size]"); v != "" {
		if p.size, err = strconv.Atoi(v); err != nil || p.size < 1 || p.size > maxPageSize {
			return page{}, fmt.Errorf("page[size] must be an integer from 1 to %d", maxPageSize)
		}
	}
	if v := q.Get("page[number]"); v != "" {
		if p.number, err = strconv.Atoi(v); err != nil || p.number < 0 {
			return page{}, fmt.Errorf("page[number] must be a non-negative integer")
		}
	}
	return p, nil
}

// paginate returns the items on page p.
func paginate[T any](items []T, p page) []T {
	start := min(p.number*p.size, len(items))
	end := min(start+p.size, len(items))
	return items[start:end]
}

// timeRange is an inclusive [start, end] filter; zero bounds are open.
type timeRange struct {
	start, end time.Time
}

// parseTimeRange reads a filter[<field>][start] / [end] pair. Bounds are RFC
// 3339 date-times (e.g. 2020-11-24T18:46:21+00:00) or plain dates; a date as
// end bound includes that whole day.
func parseTimeRange(q url.Values, field string) (timeRange, error) {
	var tr timeRange
	var err error
	startName, endName := "filter["+field+"][start]", "filter["+field+"][end]"
	if v := q.Get(startName); v != "" {
		if tr.start, _, err = parseBound(v); err != nil {
			return timeRange{}, fmt.Errorf("%s must be an RFC 3339 date-time or a date", startName)
		}
	}
	if v := q.Get(endName); v != "" {
		var dateOnly bool
		if tr.end, dateOnly, err = parseBound(v); err != nil {
			return timeRange{}, fmt.Errorf("%s must be an RFC 3339 date-time or a date", endName)
		}
		if dateOnly {
			tr.end = tr.end.Add(24*time.Hour - time.Nanosecond)
		}
	}
	return tr, nil
}

func parseBound(v string) (t time.Time, dateOnly bool, err error) {
	if t, err = time.Parse(time.RFC3339Nano, v); err == nil {
		return t, false, nil
	}
	t, err = time.Parse(time.DateOnly, v)
	return t, true, err
}

func (tr timeRange) contains(t time.Time) bool {
	return (tr.start.IsZero() || !t.Before(tr.start)) && (tr.end.IsZero() || !t.After(tr.end))
}

// sortBy orders items by the field named in spec ("name", or "-name" for
// descending), using the comparison functions in fields and tie-breaking on
// id so pages are stable. An empty spec uses def.
func sortBy[T any](items []T, spec, def string, fields map[string]func(a, b T) int, id func(T) string) error {
	spec = cmp.Or(spec, def)
	field, desc := strings.CutPrefix(spec, "-")
	compare, ok := fields[field]
	if !ok {
		return fmt.Errorf("sort must be one of %s, optionally prefixed with '-'", strings.Join(sortedKeys(fields), ", "))
	}
	slices.SortStableFunc(items, func(a, b T) int {
		c := compare(a, b)
		if desc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(id(a), id(b)))
	})
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// containsFold reports whether s contains substr, ignoring case.
func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}

// includes parses a comma-separated include parameter against allowed names.
func includes(q url.Values, allowed ...string) (map[string]bool, error) {
	set := map[string]bool{}
	v := q.Get("include")
	if v == "" {
		return set, nil
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allowed, name) {
			return nil, fmt.Errorf("include supports only %s", strings.Join(allowed, ", "))
		}
		set[name] = true
	}
	return set, nil
}

// timestamp formats t as RFC 3339 in UTC, the form the Go client's date-time
// fields decode.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// optionalTimestamp is timestamp for nullable fields: nil stays JSON null.
func optionalTimestamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}
