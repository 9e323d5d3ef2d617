package rotation

import (
	"slices"

	"github.com/ddconn/ddconn/pkg/rotationstate"
	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// Snapshot is a connection secret at one moment: its metadata and the
// documents of its labelled versions. Every decision to revoke a key is taken
// on a snapshot read after the key listing it applies to, so a key is only
// revoked if no labelled version referred to it at that moment.
type Snapshot struct {
	// Secret is the secret's metadata (tags, labels, rotation settings).
	Secret secretstore.Secret
	// Docs maps each labelled version that has a value to its document.
	// The value-less AWSPENDING version RotateSecret creates is absent.
	Docs map[string]secretkind.Document
}

// Current returns the AWSCURRENT document.
func (s Snapshot) Current() (secretkind.Document, bool) {
	id, ok := s.Secret.CurrentVersion()
	if !ok {
		return secretkind.Document{}, false
	}
	d, ok := s.Docs[id]
	return d, ok
}

// labels returns the staging labels of every version whose document holds
// the application key keyID ("" matches documents whose key id is unknown).
func (s Snapshot) labels(keyID string) []string {
	var out []string
	for id, d := range s.Docs {
		if d.KeyID == keyID {
			out = append(out, s.Secret.Versions[id]...)
		}
	}
	slices.Sort(out)
	return out
}

// Referenced reports whether a labelled version holds the key keyID.
func (s Snapshot) Referenced(keyID string) bool { return len(s.labels(keyID)) > 0 }

// retirements returns the retired keys awaiting revocation.
func (s Snapshot) retirements() []rotationstate.Retirement {
	return rotationstate.Retirements(s.Secret.Tags)
}

// Retiring reports whether a retirement is recorded for the key: its
// revocation belongs to Reconcile, which honours its grace period, so the
// sweeper does not treat it as an orphan.
func (s Snapshot) Retiring(keyID string) bool {
	for _, r := range s.retirements() {
		if r.KeyID == keyID {
			return true
		}
	}
	return false
}
