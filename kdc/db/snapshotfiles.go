package db

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// snapshotDir is where raft's file snapshot store keeps snapshots, inside
// the data dir.
const snapshotDir = "snapshots"

// Snapshots hold every sealed key, so they get the modes of the rest of the
// data dir (0700 directories, 0600 files). hashicorp/raft's
// FileSnapshotStore creates its directories 0755 and its files with
// os.Create (0644 under the usual umask); privateSnapshots corrects the
// modes of each snapshot as raft creates it, and openSnapshots those that
// an older build left.

// privateSnapshots is a FileSnapshotStore whose new snapshots are private.
type privateSnapshots struct {
	*raft.FileSnapshotStore
	dir string
}

// openSnapshots opens the snapshot store of dataDir, first making the
// snapshot directory and everything already in it private.
func openSnapshots(dataDir string, retain int, log *hclogAdapter) (*privateSnapshots, error) {
	dir := filepath.Join(dataDir, snapshotDir)
	if err := os.MkdirAll(dir, dataDirPerm); err != nil {
		return nil, fmt.Errorf("create snapshot directory: %w", err)
	}
	if err := makePrivate(dir); err != nil {
		return nil, err
	}
	store, err := raft.NewFileSnapshotStoreWithLogger(dataDir, retain, log)
	if err != nil {
		return nil, err
	}
	return &privateSnapshots{FileSnapshotStore: store, dir: dir}, nil
}

// Create implements raft.SnapshotStore. The snapshot's directory and files
// exist once the inner Create returns, before any state is written to
// them; the later rename into place keeps their modes.
func (s *privateSnapshots) Create(version raft.SnapshotVersion, index, term uint64,
	configuration raft.Configuration, configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.FileSnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	// raft names the directory being written ID + ".tmp".
	if err := makePrivate(filepath.Join(s.dir, sink.ID()+".tmp")); err != nil {
		sink.Cancel()
		return nil, err
	}
	return sink, nil
}

// makePrivate sets mode 0700 on dir and the directories below it and 0600
// on the files.
func makePrivate(dir string) error {
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o600)
		if e.IsDir() {
			mode = dataDirPerm
		}
		return os.Chmod(path, mode)
	})
	if err != nil {
		return fmt.Errorf("make snapshots private: %w", err)
	}
	return nil
}
