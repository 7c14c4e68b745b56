package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
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

	// Transport carries Raft between nodes (in the product, the cluster
	// package's mutual-TLS stream layer wrapped in raft.NewNetworkTransport).
	// Nil means a single node: no network transport at all, so no socket
	// through which anything could write to the database (a data dir whose
	// Raft configuration has other voters is then refused). Open takes
	// ownership, also when it fails: Close (or the failing Open) closes it.
	Transport raft.Transport
	// Join marks a fresh data dir as a node that an existing cluster's
	// leader will add (AddVoter): Open does not bootstrap a configuration
	// and does not wait for leadership; the node serves an empty replica
	// until the leader sends it a snapshot and the log. Without Join a fresh
	// data dir bootstraps a one-voter cluster (the first node, or dev). It
	// changes nothing for a data dir with Raft state: a restarting member
	// rejoins by itself.
	Join bool
	// Forward sends an encoded request (see HandleForwarded) to the current
	// leader and returns its encoded reply. It is how a follower writes;
	// nil means writes on a follower fail with ErrNotLeader. The leader's
	// address is (*DB).Status().Leader.
	Forward func(ctx context.Context, req []byte) ([]byte, error)
	// RestoreFrom, on a fresh data dir without Join, initialises the new
	// one-voter cluster from a Backup of this realm sealed with this master
	// key (the stash must exist; it is never created then). Open refuses it
	// for a data dir that already holds a database, and checks the whole
	// backup before creating anything.
	RestoreFrom io.Reader
	// SnapshotThreshold is how many log entries trigger a Raft snapshot;
	// default 2048.
	SnapshotThreshold uint64

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
	node   *raftNode
	// forward reaches the leader from a follower (nil: writes need to
	// happen on the leader).
	forward func(ctx context.Context, req []byte) ([]byte, error)
	metrics *metrics
	log     *slog.Logger

	// writeMu serialises local proposals so that the kvno a proposer seals
	// for is still the next one when its command is applied.
	writeMu sync.Mutex
	// rotateMu makes one master key rotation at a time run here;
	// stopKeys and keysDone stop the key worker (rotation.go).
	rotateMu  sync.Mutex
	stopKeys  chan struct{}
	keysDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ Reader = (*DB)(nil)

// Open opens (or, with CreateIfMissing, creates) the database in
// opts.DataDir and starts its Raft node. A node that is the only voter
// (the first node of a cluster, or dev) returns once it leads and its index
// holds every committed change; a member of a larger cluster, or a joining
// node, returns at once and serves its replica while Raft catches up.
func Open(opts Options) (*DB, error) {
	d, err := open(opts)
	if err != nil && opts.Transport != nil {
		// Raft closes it on the paths where it started; closing is
		// idempotent, so the caller has a single rule.
		if c, ok := opts.Transport.(raft.WithClose); ok {
			c.Close()
		}
	}
	return d, err
}

func open(opts Options) (*DB, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	// A stash is only ever created together with a new database that
	// starts a cluster: a missing stash for an existing one is a lost key,
	// and a joining node or a restore needs the realm's existing key.
	initialized, err := Initialized(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("inspect data dir %s: %w", opts.DataDir, err)
	}
	fresh := !initialized
	if opts.RestoreFrom != nil && !fresh {
		return nil, fmt.Errorf("%w: Options.RestoreFrom needs a fresh data dir; %s already holds a database", ErrInvalid, opts.DataDir)
	}
	createKey := opts.CreateIfMissing && fresh && !opts.Join && opts.RestoreFrom == nil
	mk, err := openMasterKey(opts.MasterKeyPath, createKey)
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With("realm", opts.Realm)
	idx := newIndex(opts.Realm)
	f := newFSM(opts.Realm, mk, idx, log)
	f.keyWork.dataDir, f.keyWork.changed = opts.DataDir, make(chan struct{}, 1)
	var backup *backupImage
	if opts.RestoreFrom != nil {
		// Checked in full before the data dir is created, so that a wrong
		// backup leaves nothing behind.
		if backup, err = readBackup(opts.RestoreFrom, f); err != nil {
			return nil, err
		}
	}
	m, err := initDataDir(opts.DataDir, opts.Realm, opts.NodeID, mk, opts.CreateIfMissing, opts.Join)
	if err != nil {
		return nil, err
	}
	met := newMetrics()
	f.persisted = func(d time.Duration) { met.snapshotPersist.Observe(d.Seconds()) }
	start := time.Now()
	n, err := startRaft(raftConfig{
		dataDir:           opts.DataDir,
		nodeID:            m.NodeID,
		transport:         opts.Transport,
		bootstrap:         !m.Join,
		snapshotThreshold: opts.SnapshotThreshold,
		heartbeat:         opts.raftHeartbeat,
		startTimeout:      opts.StartTimeout,
		log:               log,
	}, f, met.leaderChanges.Inc)
	if err == nil && backup != nil {
		if err = n.restore(backup, opts.StartTimeout); err != nil {
			n.Shutdown()
		}
	}
	if err != nil {
		if rerr := f.restoreError(); rerr != nil {
			err = fmt.Errorf("%w: %w", err, rerr)
		}
		return nil, fmt.Errorf("open principal database in %s: %w", opts.DataDir, err)
	}
	log.Info("principal database open", "dir", opts.DataDir, "node", m.NodeID, "state", n.State(),
		"principals", f.count(), "revision", f.revision(), "took", time.Since(start).Round(time.Millisecond))
	d := &DB{
		realm:    opts.Realm,
		etypes:   opts.EncTypes,
		mk:       mk,
		idx:      idx,
		fsm:      f,
		node:     n,
		forward:  opts.Forward,
		metrics:  met,
		log:      log,
		stopKeys: make(chan struct{}),
		keysDone: make(chan struct{}),
	}
	// A node that learned a version while it was down (from the log it
	// replayed, or a snapshot) may owe an acknowledgement.
	f.keyWork.wake()
	go d.keyWorker(d.stopKeys, d.keysDone)
	return d, nil
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
	if o.EncTypes == nil {
		o.EncTypes = DefaultEncTypes
	}
	if err := validateEncTypes(o.EncTypes); err != nil {
		return fmt.Errorf("Options.EncTypes: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Join && o.RestoreFrom != nil {
		return fmt.Errorf("%w: Options.Join and Options.RestoreFrom exclude each other (a restore starts a new cluster)", ErrInvalid)
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
	// State is the Raft role.
	State Role
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
		Principals: d.fsm.count(),
	}
}

// Close stops Raft and closes the stores. Principals already handed out
// stay valid. Close is idempotent.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		close(d.stopKeys)
		<-d.keysDone
		d.closeErr = d.node.Shutdown()
	})
	return d.closeErr
}

// LeaderID is the ID of the Raft leader this replica follows ("" if none),
// without the counts Status reads under the state's lock.
func (d *DB) LeaderID() string {
	_, id := d.node.Leader()
	return id
}
