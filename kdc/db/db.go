package db

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configure Open.
type Options struct {
	// DataDir holds raft.db, snapshots and the metadata file. Required.
	DataDir string
	// Realm is the realm the database serves. Required; a data dir created
	// for another realm is refused.
	Realm string
	// MasterKeyPath is the master key stash; default DataDir/master.key.
	MasterKeyPath string
	// CreateIfMissing lets Open create the stash and initialise an empty
	// database. Without it a missing stash or an uninitialised data dir is
	// an error, so that a mistyped path never starts an empty KDC.
	CreateIfMissing bool
	// RaftBindAddr is the Raft TCP address, a specific IP (peers are told
	// to dial it); default 127.0.0.1:0, which is fine for a single node (a
	// lone voter elects itself whatever its address).
	RaftBindAddr string
	// NodeID is this node's Raft ID. It is recorded when the data dir is
	// created (default: the host name) and must not change afterwards;
	// empty means "the recorded one".
	NodeID string
	// EncTypes are the enctypes of new keys; default DefaultEncTypes.
	EncTypes []int32
	// Logger receives the database's and Raft's logs; default slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds the wait for a single node to become leader and
	// replay its log; default 15 s.
	StartTimeout time.Duration

	// raftHeartbeat overrides Raft's heartbeat/election timeout (tests).
	raftHeartbeat time.Duration
}

// DefaultMasterKeyFile is the stash file name inside DataDir used when
// Options.MasterKeyPath is empty.
const DefaultMasterKeyFile = "master.key"

// DB is the principal database of one node: a Raft-replicated FSM of sealed
// records and an in-memory index of decrypted principals. It implements
// Reader for the KDC and the admin operations for the CLI. It is safe for
// concurrent use.
type DB struct {
	realm  string
	etypes []int32
	mk     *MasterKey
	idx    *index
	fsm    *fsm
	node   node
	log    *slog.Logger

	// writeMu serialises local proposals so that the kvno a proposer seals
	// for is still the next one when its command is applied.
	writeMu   sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

var _ Reader = (*DB)(nil)

// Open opens (or, with CreateIfMissing, creates) the database in
// opts.DataDir, starts the single-node Raft and returns once the index holds
// every committed change.
func Open(opts Options) (*DB, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	// A stash is only ever created together with a new database: a missing
	// stash for an existing one is a lost key, and a new key cannot open it.
	_, statErr := os.Stat(filepath.Join(opts.DataDir, metaFile))
	fresh := errors.Is(statErr, fs.ErrNotExist)
	mk, err := openMasterKey(opts.MasterKeyPath, opts.CreateIfMissing && fresh)
	if err != nil {
		return nil, err
	}
	nodeID, err := initDataDir(opts.DataDir, opts.Realm, opts.NodeID, mk, opts.CreateIfMissing)
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With("realm", opts.Realm)
	idx := newIndex(opts.Realm)
	f := newFSM(opts.Realm, mk, idx, log)
	start := time.Now()
	n, err := startRaft(raftConfig{
		dataDir:      opts.DataDir,
		bindAddr:     opts.RaftBindAddr,
		nodeID:       nodeID,
		heartbeat:    opts.raftHeartbeat,
		startTimeout: opts.StartTimeout,
		log:          log,
	}, f)
	if err != nil {
		if rerr := f.restoreError(); rerr != nil {
			err = fmt.Errorf("%w: %w", err, rerr)
		}
		return nil, fmt.Errorf("open principal database in %s: %w", opts.DataDir, err)
	}
	log.Info("principal database open", "dir", opts.DataDir, "principals", len(idx.list()),
		"revision", f.revision(), "took", time.Since(start).Round(time.Millisecond))
	return &DB{
		realm:  opts.Realm,
		etypes: opts.EncTypes,
		mk:     mk,
		idx:    idx,
		fsm:    f,
		node:   n,
		log:    log,
	}, nil
}

// fill validates opts and applies defaults.
func (o *Options) fill() error {
	if o.DataDir == "" {
		return fmt.Errorf("%w: Options.DataDir is required", ErrInvalid)
	}
	if o.Realm == "" {
		return fmt.Errorf("%w: Options.Realm is required", ErrInvalid)
	}
	if _, _, err := ParseName("x", o.Realm); err != nil {
		return fmt.Errorf("%w: Options.Realm %q is not a valid realm name", ErrInvalidName, o.Realm)
	}
	if o.MasterKeyPath == "" {
		o.MasterKeyPath = filepath.Join(o.DataDir, DefaultMasterKeyFile)
	}
	if o.RaftBindAddr == "" {
		o.RaftBindAddr = "127.0.0.1:0"
	}
	if o.EncTypes == nil {
		o.EncTypes = DefaultEncTypes
	}
	if err := validateEncTypes(o.EncTypes); err != nil {
		return fmt.Errorf("Options.EncTypes: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	return nil
}

func openMasterKey(path string, create bool) (*MasterKey, error) {
	mk, err := LoadMasterKey(path)
	if err == nil || !create || !errors.Is(err, fs.ErrNotExist) {
		return mk, err
	}
	if err := os.MkdirAll(filepath.Dir(path), dataDirPerm); err != nil {
		return nil, fmt.Errorf("create master key directory: %w", err)
	}
	return CreateMasterKey(path)
}

// Realm implements Reader.
func (d *DB) Realm() string { return d.realm }

// Lookup implements Reader: an exact, case-sensitive lookup by canonical
// name or alias, from memory.
func (d *DB) Lookup(name string) (*Principal, bool) { return d.idx.Lookup(name) }

// Similar implements Reader.
func (d *DB) Similar(name string, n int) []string { return d.idx.Similar(name, n) }

// Status describes the node for `kdcha status`.
type Status struct {
	// State is the Raft state: "Leader", "Follower", "Candidate", "Shutdown".
	State string
	// Leader and LeaderID identify the current leader ("" if none known).
	Leader, LeaderID string
	// Revision is the global revision of the last applied change.
	Revision uint64
	// Principals is the number of principals (not counting aliases).
	Principals int
}

// Status reports the node's Raft state and the database size.
func (d *DB) Status() Status {
	addr, id := d.node.Leader()
	return Status{
		State:      d.node.State(),
		Leader:     addr,
		LeaderID:   id,
		Revision:   d.fsm.revision(),
		Principals: len(d.idx.list()),
	}
}

// Close stops Raft and closes the stores. Principals already handed out
// stay valid. Close is idempotent.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = d.node.Shutdown()
	})
	return d.closeErr
}
