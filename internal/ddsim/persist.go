package ddsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ddconn/ddconn/internal/statefile"
)

// loadState reads a DataFile. A missing file is an empty state: the first
// mutation creates it.
func loadState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading simulator data file %s: %w", path, err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("parsing simulator data file %s: %w", path, err)
	}
	st.fillMaps()
	return st, nil
}

// saveState writes st next to path and renames it into place, so a crash
// leaves either the old or the new file, never a torn one.
func saveState(path string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding simulator state: %w", err)
	}
	if err := statefile.Write(path, data); err != nil {
		return fmt.Errorf("writing data file %s: %w", path, err)
	}
	return nil
}
