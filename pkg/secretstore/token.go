package secretstore

import (
	"crypto/sha256"
	"fmt"
)

// TokenFor returns the ClientRequestToken derived from seed: the same seed
// always gives the same token, so a retried request that creates a secret
// or a version is recognised by Secrets Manager (and by ddconn, which also
// names keys after the token). It is UUID-shaped (36 characters, within
// Secrets Manager's 32–64) and reveals nothing of the seed.
func TokenFor(seed string) string {
	b := sha256.Sum256([]byte("ddconn client request token\x00" + seed))
	b[6] = b[6]&0x0f | 0x80 // UUID version 8: a name-based, custom hash
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
