package smemu

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/ddconn/ddconn/internal/statefile"
)

// snapshotFormat versions the DataFile layout.
const snapshotFormat = 1

// snapshot is the DataFile content. It holds secret values, so the file is
// written with mode 0600. Rotation jobs are not saved: after a restart an
// incomplete rotation waits for the next RotateSecret or scheduled window.
type snapshot struct {
	Format  int       `json:"format"`
	Seq     int64     `json:"seq"`
	Secrets []*secret `json:"secrets"`
}

// load reads the DataFile; a missing file is an empty emulator.
func (e *Emulator) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if snap.Format != snapshotFormat {
		return fmt.Errorf("unsupported format %d (want %d)", snap.Format, snapshotFormat)
	}
	e.seq = snap.Seq
	for _, s := range snap.Secrets {
		e.secrets[s.ARN] = s
	}
	return nil
}

// save writes the state to DataFile atomically: a temporary file in the
// same directory, synced, then renamed over the old one, so a crash leaves
// either the old or the new state, never a torn file. saveMu makes the
// snapshot-then-write pairs run one at a time, so the last write always
// carries the latest state.
func (e *Emulator) save() error {
	path := e.opts.DataFile
	if path == "" {
		return nil
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	data, err := json.MarshalIndent(e.snapshotLocked(), "", "  ")
	e.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding emulator data: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("saving emulator data to %s: %w", path, err)
	}
	if err := statefile.Write(path, data); err != nil {
		return fmt.Errorf("saving emulator data to %s: %w", path, err)
	}
	return nil
}

// saveLogged saves and logs a failure: the call that changed state has
// already succeeded and cannot be undone.
func (e *Emulator) saveLogged() {
	if err := e.save(); err != nil {
		e.logError("persisting emulator state failed", err)
	}
}

func (e *Emulator) snapshotLocked() snapshot {
	snap := snapshot{Format: snapshotFormat, Seq: e.seq, Secrets: make([]*secret, 0, len(e.secrets))}
	for _, s := range e.secrets {
		snap.Secrets = append(snap.Secrets, s)
	}
	slices.SortFunc(snap.Secrets, func(a, b *secret) int { return cmp.Compare(a.Seq, b.Seq) })
	return snap
}
