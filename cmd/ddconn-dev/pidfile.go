package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// pidFile is the file, inside the data directory, that names the process
// serving it. `make dev-reset` reads it and refuses to wipe the directory
// while that process runs: the emulator and the simulator write their state
// files on their own schedules, so a wipe under a running stack would leave
// one of them with data the other no longer has.
const pidFile = "ddconn-dev.pid"

// writePIDFile records this process in dir and returns the function that
// removes the record again, if it still names this process.
func writePIDFile(dir string) (remove func(), err error) {
	path := filepath.Join(dir, pidFile)
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := os.WriteFile(path, pid, 0o600); err != nil {
		return nil, fmt.Errorf("recording the process id in %s: %w", path, err)
	}
	return func() {
		if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, pid) {
			_ = os.Remove(path)
		}
	}, nil
}
