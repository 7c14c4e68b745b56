package db

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Initialized reports whether dataDir holds a principal database (created
// by Open with CreateIfMissing), so a caller can choose between opening a
// member and joining a cluster without opening anything.
func Initialized(dataDir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dataDir, metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
