package testkit

import (
	"fmt"
	"os"
	"path/filepath"
)

// BootstrapsEnv names the environment variable through which `make unit`
// and `make e2e` tell the tests where `make bootstraps` put the function
// binaries: <dir>/<GOARCH>/<LogicalId>/bootstrap, each built for linux by
// the Makefile's build-<LogicalId> target. Building them there, before go
// test starts, keeps minutes of cold compiling out of the tests' timeout.
const BootstrapsEnv = "DDCONN_BOOTSTRAPS"

// MakeBootstraps is the command that builds the bootstraps for goarch.
func MakeBootstraps(goarch string) string { return "make bootstraps-" + goarch }

// Bootstrap returns the path of the function's linux/goarch bootstrap that
// the Makefile built, or "" when BootstrapsEnv is not set (the test was run
// by hand with go test, and builds what it needs itself). A folder that is
// set but lacks the binary is an error naming the make command to run.
func Bootstrap(logicalID, goarch string) (string, error) {
	dir := os.Getenv(BootstrapsEnv)
	if dir == "" {
		return "", nil
	}
	path := filepath.Join(dir, goarch, logicalID, "bootstrap")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s=%s has no %s bootstrap for linux/%s (run `%s`): %w",
			BootstrapsEnv, dir, logicalID, goarch, MakeBootstraps(goarch), err)
	}
	return path, nil
}
