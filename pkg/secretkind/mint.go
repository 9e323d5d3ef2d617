package secretkind

import (
	"strings"
	"time"
)

// Mint records, on a connection's secret, that a managed key is being
// minted: the intent tag written before the Datadog key is created and
// removed once its secret is stored. A mint that stops in between leaves a
// key no secret refers to; the sweeper follows the tag to it.
type Mint struct {
	Name Name
	// Started is when the mint began; the sweeper leaves younger mints alone.
	Started time.Time
	// ServiceAccountID is the owner of a managed application key's key.
	ServiceAccountID string
}

// Tag returns the mint's tag on its connection:
// "ddconn:mint:<kind>/<name>" = "<started> [<service account id>]".
func (m Mint) Tag() (key, value string) {
	return TagMintPrefix + m.Name.Kind.Segment() + "/" + m.Name.Key,
		strings.TrimSpace(m.Started.UTC().Format(time.RFC3339) + " " + m.ServiceAccountID)
}

// Mints returns the mints recorded in the tags of connection conn's secret,
// skipping unreadable tags.
func Mints(conn string, tags map[string]string) []Mint {
	var out []Mint
	for k, v := range tags {
		rest, ok := strings.CutPrefix(k, TagMintPrefix)
		if !ok {
			continue
		}
		seg, key, _ := strings.Cut(rest, "/")
		kind, ok := managedKind(seg)
		if !ok || !ValidName(key) {
			continue
		}
		at, sa, _ := strings.Cut(v, " ")
		started, err := time.Parse(time.RFC3339, at)
		if err != nil {
			continue
		}
		out = append(out, Mint{Name: Name{Kind: kind, Connection: conn, Key: key}, Started: started, ServiceAccountID: sa})
	}
	return out
}
