package rotationstate

import (
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

// The steps of Secrets Manager's rotation protocol, as named in its events.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Steps are the rotation steps in the order Secrets Manager runs them.
var Steps = []string{StepCreate, StepSet, StepTest, StepFinish}

// StepDone is the value of secretkind.TagRotationStep once step has
// completed for the version versionID.
func StepDone(step, versionID string) string {
	return step + " " + versionID
}

// stepInProgress is the step a rotation in progress is at: the one after
// the last step recorded done for the AWSPENDING version, StepCreate when
// none is. "" when no rotation is in progress.
func stepInProgress(sec secretstore.Secret) string {
	if !rotationInProgress(sec) {
		return ""
	}
	pending, _ := sec.VersionWith(secretstore.Pending)
	done, version, _ := strings.Cut(sec.Tags[secretkind.TagRotationStep], " ")
	i := slices.Index(Steps, done)
	if version != pending || i < 0 {
		return StepCreate
	}
	return Steps[min(i+1, len(Steps)-1)]
}
