package statefile

import (
	"os"
	"path/filepath"
)

// Write replaces the file at path with data: it writes a temporary file in
// the same directory, flushes it to disk and renames it over path. The
// directory must exist. The file has mode 0600 (CreateTemp's), which the
// secrets inside call for.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
