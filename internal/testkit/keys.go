package testkit

import (
	"slices"
	"strings"
	"testing"
)

// Window is the length of the pieces of a key that AssertNoKeyMaterial looks
// for. Datadog shows the last four characters of every key (last4), and so
// do ddconn's answers, so pieces of that length are public by design. Twelve
// characters is three times that: a window of 12 hex digits is 48 bits, so
// unrelated text (ids, hashes, timestamps) matches one of a 40-character
// key's 29 windows by chance about once in 10^13 characters, while any copy
// of a key that is cut, wrapped or partly masked, if a third of it is left
// in one piece, still holds a whole window.
const Window = 12

// AssertNoKeyMaterial reports an error on t for each key that output holds
// any Window-character piece of, compared without regard to case (a key
// printed with %X is still a leak). Keys shorter than Window are looked for
// whole; empty keys are ignored. The message names the key by its position
// in keys and its length, never by its characters, so the failure does not
// leak it into the test log either. It returns whether output is clean.
func AssertNoKeyMaterial[T ~string | ~[]byte](t testing.TB, output T, keys ...string) bool {
	t.Helper()
	clean := true
	for _, f := range findKeyMaterial(string(output), keys) {
		clean = false
		t.Errorf("output holds key material: %d characters of key %d of %d (a %d-character key) at byte %d",
			f.length, f.key+1, len(keys), len(keys[f.key]), f.offset)
	}
	return clean
}

// finding is the first place output holds a piece of one key.
type finding struct {
	key, offset, length int
}

// findKeyMaterial returns, for each key found in output, where its first
// piece is. It indexes every window of every key once, then slides one
// window over output, so its cost grows with len(output), not with
// len(output) times the number of windows.
func findKeyMaterial(output string, keys []string) []finding {
	output = strings.ToLower(output)
	windows := map[string][]int{} // window → the keys it comes from
	var short []int               // keys shorter than Window, looked for whole
	for i, k := range keys {
		k = strings.ToLower(k)
		switch {
		case k == "":
		case len(k) < Window:
			short = append(short, i)
		default:
			for j := 0; j+Window <= len(k); j++ {
				w := k[j : j+Window]
				if !slices.Contains(windows[w], i) {
					windows[w] = append(windows[w], i)
				}
			}
		}
	}
	found := map[int]finding{}
	for off := 0; off+Window <= len(output) && len(windows) > 0; off++ {
		for _, i := range windows[output[off:off+Window]] {
			if _, seen := found[i]; !seen {
				found[i] = finding{key: i, offset: off, length: Window}
			}
		}
	}
	for _, i := range short {
		if off := strings.Index(output, strings.ToLower(keys[i])); off >= 0 {
			if _, seen := found[i]; !seen {
				found[i] = finding{key: i, offset: off, length: len(keys[i])}
			}
		}
	}
	out := make([]finding, 0, len(found))
	for i := range keys {
		if f, ok := found[i]; ok {
			out = append(out, f)
		}
	}
	return out
}
