package smemu

import (
	"encoding/base64"
	"sort"
	"strings"
)

// pageCursor says which page of a sorted listing to return. Tokens carry the
// sort key of the last item returned, so a page stays correct when items
// before it are added or deleted between calls.
type pageCursor struct {
	scope string  // what is listed and how it is sorted; a token only works in its scope
	desc  bool    // items are sorted by descending key
	limit *int    // MaxResults; nil: the maximum page size
	token *string // NextToken from the previous page
}

const tokenSeparator = "\x00"

// paginate returns the page of items (sorted by key, in the cursor's
// direction) that follows the cursor, and the NextToken for the page after.
func paginate[T any](items []T, key func(T) string, c pageCursor) ([]T, string, error) {
	start, err := pageStart(items, key, c)
	if err != nil {
		return nil, "", err
	}
	limit := maxPageSize
	if c.limit != nil {
		limit = *c.limit
	}
	end := min(start+limit, len(items))
	page := items[start:end]
	if end == len(items) {
		return page, "", nil
	}
	last := key(items[end-1])
	return page, base64.RawURLEncoding.EncodeToString([]byte(c.scope + tokenSeparator + last)), nil
}

// pageStart is the index of the first item after the cursor's token.
func pageStart[T any](items []T, key func(T) string, c pageCursor) (int, error) {
	if c.token == nil {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*c.token)
	scope, after, found := strings.Cut(string(raw), tokenSeparator)
	if err != nil || !found || scope != c.scope {
		return 0, newAPIError(typeInvalidNextToken, "The NextToken value is invalid.")
	}
	return sort.Search(len(items), func(i int) bool {
		if c.desc {
			return key(items[i]) < after
		}
		return key(items[i]) > after
	}), nil
}
