package rotationstate

import (
	"testing"

	"github.com/ddconn/ddconn/pkg/secretkind"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestStepInProgress(t *testing.T) {
	rotating := map[string][]string{"v1": {secretstore.Current}, "v2": {secretstore.Pending}}
	idle := map[string][]string{"v1": {secretstore.Current}}
	tests := []struct {
		name     string
		versions map[string][]string
		recorded string
		want     string
	}{
		{"idle", idle, "", ""},
		{"idle with an old record", idle, StepDone(StepTest, "v0"), ""},
		{"started, nothing done", rotating, "", StepCreate},
		{"a record of an earlier rotation", rotating, StepDone(StepTest, "v1"), StepCreate},
		{"created", rotating, StepDone(StepCreate, "v2"), StepSet},
		{"set", rotating, StepDone(StepSet, "v2"), StepTest},
		{"tested", rotating, StepDone(StepTest, "v2"), StepFinish},
		{"an unknown step", rotating, StepDone("rotateSecret", "v2"), StepCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := secretstore.Secret{Versions: tt.versions, Tags: map[string]string{}}
			if tt.recorded != "" {
				sec.Tags[secretkind.TagRotationStep] = tt.recorded
			}
			if got := StateOf(sec).Step; got != tt.want {
				t.Errorf("step = %q, want %q", got, tt.want)
			}
		})
	}
}
