package db

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	metaFile   = "kdcha-db.json"
	metaFormat = 1
	// The key check is sealed like a key of a name no principal can have
	// (no realm), so it can never be confused with real key material.
	checkOwner  = "kdcha/master-key-check"
	checkValue  = "kdcha master key check v1"
	dataDirPerm = 0o700
)

// meta is the small file that says what a data directory is: which realm it
// serves, the Raft ID it was bootstrapped with and a value sealed with the
// master key it was created with. It lets Open refuse a directory of another
// realm, or a wrong stash, with a clear message before Raft replays
// anything, and keeps the node ID stable when the host is renamed.
type meta struct {
	Format   int    `json:"format"`
	Realm    string `json:"realm"`
	NodeID   string `json:"node_id"`
	KeyCheck []byte `json:"key_check"`
	// Join records that the directory was created for a node joining an
	// existing cluster. A later Open of it, even without Options.Join, then
	// never bootstraps a configuration of its own: if the node restarts
	// before the leader reached it, bootstrapping would split the realm
	// into two clusters.
	Join bool `json:"join,omitempty"`
}

// initDataDir checks the data directory's metadata, creating the directory
// and the metadata first if create is set and they are missing (recording
// join). It returns the metadata: its NodeID is the recorded one, which
// nodeID (if set) must match.
func initDataDir(dir, realm, nodeID string, mk *MasterKey, create, join bool) (meta, error) {
	if create {
		if err := os.MkdirAll(dir, dataDirPerm); err != nil {
			return meta{}, fmt.Errorf("create data dir: %w", err)
		}
	}
	path := filepath.Join(dir, metaFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		return createMeta(dir, path, realm, nodeID, mk, join)
	case errors.Is(err, fs.ErrNotExist):
		return meta{}, fmt.Errorf("no principal database in %s (create one with CreateIfMissing): %w", dir, err)
	case err != nil:
		return meta{}, fmt.Errorf("read %s: %w", path, err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return meta{}, fmt.Errorf("%s is corrupt: %w", path, err)
	}
	if m.Format != metaFormat {
		return meta{}, fmt.Errorf("%s has format %d, this build reads %d", path, m.Format, metaFormat)
	}
	if m.Realm != realm {
		return meta{}, fmt.Errorf("%w: %s was created for realm %q, not %q", ErrRealmMismatch, dir, m.Realm, realm)
	}
	pt, err := mk.open(checkOwner, 0, 0, m.KeyCheck)
	if err != nil || !bytes.Equal(pt, []byte(checkValue)) {
		return meta{}, fmt.Errorf("%w: the stash does not open %s (was the data dir created with another master key, "+
			"or is the stash a copy from before a master key rotation? then copy the current stash from a member): %v", ErrWrongMasterKey, path, err)
	}
	if m.NodeID == "" {
		return meta{}, fmt.Errorf("%s is corrupt: no node_id", path)
	}
	if nodeID != "" && nodeID != m.NodeID {
		return meta{}, fmt.Errorf("%w: %s belongs to raft node %q, not %q", ErrInvalid, dir, m.NodeID, nodeID)
	}
	return m, nil
}

func createMeta(dir, path, realm, nodeID string, mk *MasterKey, join bool) (meta, error) {
	// Raft state without metadata means the file was lost or the directory
	// was filled by something else; recreating metadata would bless it.
	if _, err := os.Stat(filepath.Join(dir, raftDBFile)); err == nil {
		return meta{}, fmt.Errorf("%s is missing but %s exists; refusing to guess the realm and master key", path, raftDBFile)
	}
	if nodeID == "" {
		host, err := os.Hostname()
		if err != nil {
			return meta{}, fmt.Errorf("default node ID: %w", err)
		}
		nodeID = host
	}
	check, err := mk.seal(checkOwner, 0, 0, []byte(checkValue))
	if err != nil {
		return meta{}, err
	}
	m := meta{Format: metaFormat, Realm: realm, NodeID: nodeID, KeyCheck: check, Join: join}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return meta{}, fmt.Errorf("encode %s: %w", path, err)
	}
	if err := WriteSecretFile(path, append(b, '\n')); err != nil {
		return meta{}, fmt.Errorf("create %s: %w", path, err)
	}
	return m, nil
}
