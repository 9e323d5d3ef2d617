package devstack

import (
	"context"
	"testing"
)

// StartTest starts a stack for a test, failing it if the stack does not
// start, and closes the stack when the test and its subtests end.
func StartTest(t testing.TB, opts Options) *Stack {
	t.Helper()
	st, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting the dev stack: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("stopping the dev stack: %v", err)
		}
	})
	return st
}
