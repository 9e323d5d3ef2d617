package managedsecret

import (
	"strings"
	"time"
)

// mintTagPrefix starts the tags that record, on a connection's secret, a
// mint in progress.
const mintTagPrefix = "ddconn:mint:"

// Mint is a mint in progress of a managed key, recorded on its connection's
// secret before the key is created in Datadog and removed once the key is
// stored or deleted: the intent the sweeper follows when a mint stops in
// between and the key has no secret to be found by.
type Mint struct {
	Name Name
	// Started is when the mint recorded its intent.
	Started time.Time
	// ServiceAccountID owns an application key; "" for an API key.
	ServiceAccountID string
}

// Tag returns the tag key and value that record m on its connection's
// secret: "ddconn:mint:<kind>/<name>" = "<RFC 3339 start> <service account>".
// Tag keys and values stay within AWS's alphabet and lengths (a name is at
// most 64 characters).
func (m Mint) Tag() (key, value string) {
	return mintTagPrefix + string(m.Name.Kind) + "/" + m.Name.Key,
		strings.TrimSpace(m.Started.UTC().Format(time.RFC3339) + " " + m.ServiceAccountID)
}

// Mints returns the mints recorded in the tags of connection conn's secret.
// Tags that do not parse are skipped.
func Mints(conn string, tags map[string]string) []Mint {
	var out []Mint
	for k, v := range tags {
		rest, ok := strings.CutPrefix(k, mintTagPrefix)
		if !ok {
			continue
		}
		kind, key, ok := strings.Cut(rest, "/")
		if !ok || Kind(kind) != AppKey && Kind(kind) != APIKey || !ValidKeyName(key) {
			continue
		}
		at, sa, _ := strings.Cut(v, " ")
		started, err := time.Parse(time.RFC3339, at)
		if err != nil {
			continue
		}
		out = append(out, Mint{Name: Name{Kind: Kind(kind), Connection: conn, Key: key}, Started: started, ServiceAccountID: sa})
	}
	return out
}
