package db

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// raftConfig are the knobs of the Raft node that Open sets.
type raftConfig struct {
	dataDir string
	nodeID  string
	// transport carries Raft to other nodes; nil means a single node that
	// opens no network transport at all (see localTransport).
	transport raft.Transport
	// bootstrap makes a fresh node the only voter of a new cluster; a
	// joining node waits to be added instead.
	bootstrap         bool
	snapshotThreshold uint64
	// heartbeat is raft's HeartbeatTimeout/ElectionTimeout; zero means
	// raft's default (1 s), which is right for a LAN cluster. Tests lower
	// it to start a single node faster.
	heartbeat    time.Duration
	startTimeout time.Duration
	log          *slog.Logger
}

// raftNode is the database's Raft node: hashicorp/raft with raft-boltdb
// stores, file snapshots and the transport it was given.
type raftNode struct {
	id    string
	r     *raft.Raft
	store *raftboltdb.BoltStore
	fsm   *fsm
	// snaps is the snapshot store, in dataDir/snapshots.
	snaps   raft.SnapshotStore
	dataDir string
	// disk remembers a write that failed for lack of space (diskfull.go).
	disk diskState
	log  *slog.Logger
	// observer reports leader changes (for metrics) until Shutdown.
	observer *raft.Observer
	// confMu serialises this leader's configuration changes, so that a
	// check of the configuration and the change it allows are atomic
	// (raft's prevIndex cannot be used: GetConfiguration reports no index).
	confMu sync.Mutex

	stopRecord chan struct{}
	recordDone chan struct{}
	saved      uint64 // last applied index written; owned by recordApplied, then Shutdown
}

const (
	raftDBFile        = "raft.db"
	snapshotsRetained = 2
	defaultApplyWait  = 10 * time.Second
)

// startRaft opens the stores in cfg.dataDir, bootstraps a single-voter
// configuration on first start if cfg.bootstrap and, when this node is the
// only voter, waits (bounded) for it to lead.
func startRaft(cfg raftConfig, f *fsm, leaderChanged func()) (_ *raftNode, err error) {
	hlog := newHCLogAdapter(cfg.log)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.nodeID)
	rc.Logger = hlog
	// A snapshot is the full principal set; take one every couple of
	// thousand changes and keep enough log for a follower that was briefly
	// away to catch up without a snapshot install.
	rc.SnapshotThreshold = cmp.Or(cfg.snapshotThreshold, 2048)
	rc.TrailingLogs = 2 * rc.SnapshotThreshold
	rc.SnapshotInterval = time.Minute
	if cfg.heartbeat > 0 {
		rc.HeartbeatTimeout = cfg.heartbeat
		rc.ElectionTimeout = cfg.heartbeat
		rc.LeaderLeaseTimeout = cfg.heartbeat
	}

	store, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(cfg.dataDir, raftDBFile),
		// Without a timeout bolt blocks forever when another process holds
		// the file lock; a second kdcha on the same dir should fail instead.
		BoltOptions: &bbolt.Options{Timeout: time.Second},
	})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: in use by another process: %w", filepath.Join(cfg.dataDir, raftDBFile), err)
		}
		return nil, fmt.Errorf("open raft log store: %w", err)
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	snaps, err := openSnapshots(cfg.dataDir, snapshotsRetained, hlog)
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	trans, local := cfg.transport, cfg.transport == nil
	if local {
		trans = localTransport()
	}
	defer func() {
		if err != nil {
			if c, ok := trans.(raft.WithClose); ok {
				c.Close()
			}
		}
	}()

	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return nil, fmt.Errorf("inspect raft state: %w", err)
	}
	if !existing && cfg.bootstrap {
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: rc.LocalID, Address: trans.LocalAddr(),
		}}}
		if err := raft.BootstrapCluster(rc, store, store, snaps, trans, boot); err != nil {
			return nil, fmt.Errorf("bootstrap single-node raft: %w", err)
		}
	}
	r, err := raft.NewRaft(rc, f, store, store, snaps, trans)
	if err != nil {
		// The usual cause is an unreadable snapshot; raft logs which one.
		return nil, fmt.Errorf("start raft (snapshots in %s): %w", filepath.Join(cfg.dataDir, snapshotDir), err)
	}
	hlog.resolvePeers(r)
	n := &raftNode{id: cfg.nodeID, r: r, store: store, fsm: f, snaps: snaps, dataDir: cfg.dataDir, log: cfg.log, stopRecord: make(chan struct{}), recordDone: make(chan struct{})}
	n.observeLeader(leaderChanged)
	replayed, err := replayCommitted(store, snaps, f)
	if err == nil && (existing || cfg.bootstrap) {
		err = n.awaitSingleLeader(rc.LocalID, local, cfg.startTimeout)
	}
	if err != nil {
		// The deferred closes release the store and transport.
		r.Shutdown().Error()
		r.DeregisterObserver(n.observer)
		close(n.stopRecord)
		return nil, err
	}
	if replayed > 0 {
		cfg.log.Debug("replayed committed raft entries before leader contact", "entries", replayed)
	}
	go n.recordApplied(n.stopRecord, n.recordDone)
	return n, nil
}

// localTransportAddr is the Raft address of a node without a network
// transport. It names no socket: nothing outside the process can reach it.
const localTransportAddr = "local"

// localTransport is the transport of a single node (no Options.Transport).
// A lone voter elects itself and never sends an RPC, so it needs no network
// at all; and any listening socket would be a writer to the database that
// no one authenticates (hashicorp/raft accepts AppendEntries from whoever
// claims a higher term). raft's in-memory transport is reachable only by
// transports connected to it in this process, which nothing does.
func localTransport() raft.Transport {
	_, t := raft.NewInmemTransport(localTransportAddr)
	return t
}

// observeLeader calls changed on every leader change seen by this node
// (including "no leader") until Shutdown.
func (n *raftNode) observeLeader(changed func()) {
	ch := make(chan raft.Observation, 16)
	n.observer = raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.r.RegisterObserver(n.observer)
	go func() {
		for {
			select {
			case <-ch:
				changed()
			case <-n.stopRecord:
				return
			}
		}
	}()
}

// awaitSingleLeader waits until this node leads if it is the only voter, so
// that Open returns a database that accepts writes and has replayed its log.
// In a multi-voter configuration leadership depends on peers, so it does
// not wait.
//
// A node without a network transport (local) can only ever be the sole
// voter: a data dir of a cluster member opened without the cluster's
// transport is refused instead of waiting forever for peers it cannot reach.
func (n *raftNode) awaitSingleLeader(self raft.ServerID, local bool, timeout time.Duration) error {
	f := n.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("read raft configuration: %w", err)
	}
	servers := f.Configuration().Servers
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return s.ID == self }) {
		return fmt.Errorf("this node (raft ID %q) is not in the raft configuration %v", self, servers)
	}
	if len(servers) != 1 {
		if local {
			return fmt.Errorf("%w: this data dir belongs to a cluster of %d voters; start it with the cluster's transport (cluster.listen)", ErrInvalid, len(servers))
		}
		return nil
	}
	deadline := time.Now().Add(timeout)
	for n.r.State() != raft.Leader {
		if time.Now().After(deadline) {
			return fmt.Errorf("single-node raft did not become leader within %s: %w", timeout, ErrNoQuorum)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Barrier makes every committed entry of a restarted node applied
	// (the index is complete) before Open returns.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return n.Barrier(ctx)
}

// Apply commits cmd on this node, which must lead, and returns the FSM's
// result for it and its log index. It fails fast with ErrNotLeader or
// ErrNoQuorum instead of queueing, and honours ctx's deadline.
func (n *raftNode) Apply(ctx context.Context, cmd []byte) (any, uint64, error) {
	// A caller that already gave up gets a definite "nothing happened"
	// rather than the "outcome unknown" of a cancellation mid-commit.
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := n.checkLeader(); err != nil {
		return nil, 0, err
	}
	f := n.r.Apply(cmd, waitFor(ctx))
	if err := n.disk.note(wait(ctx, f)); err != nil {
		return nil, 0, err
	}
	return f.Response(), f.Index(), nil
}

// Barrier returns once every entry committed before the call has been
// applied to the local FSM. Only the leader can do it: it commits an entry,
// which also proves it still leads a quorum.
func (n *raftNode) Barrier(ctx context.Context) error {
	if err := n.checkLeader(); err != nil {
		return err
	}
	return wait(ctx, n.r.Barrier(waitFor(ctx)))
}

// nudge makes followers learn the current commit index now. They learn it
// only from the next AppendEntries, which raft sends, when no write follows,
// after CommitTimeout (50-100 ms); a write through a follower waits for
// that before it is acknowledged. Appending a barrier entry (not awaited)
// sends one at once: forwarded writes take about 1.5 ms instead of 16-80
// ms (BenchmarkReplicatedWrite), for one extra log entry per forwarded
// write, which admin writes can afford.
func (n *raftNode) nudge() { n.r.Barrier(0) }

// isLeader reports whether this node believes it leads.
func (n *raftNode) isLeader() bool { return n.r.State() == raft.Leader }

// checkLeader fails fast when this node cannot commit: raft would otherwise
// accept the entry and fail only after the enqueue timeout.
func (n *raftNode) checkLeader() error {
	switch n.r.State() {
	case raft.Leader:
		return nil
	case raft.Shutdown:
		return fmt.Errorf("%w: raft is shut down", ErrNoQuorum)
	}
	// A node whose disk filled up loses leadership and cannot win an
	// election (it cannot record its vote): say why, not "no quorum".
	if err := n.disk.full(n.dataDir); err != nil {
		return err
	}
	if addr, id := n.r.LeaderWithID(); addr != "" {
		return fmt.Errorf("%w: leader is %s (%s)", ErrNotLeader, id, addr)
	}
	return fmt.Errorf("%w: no leader elected", ErrNoQuorum)
}

// waitFor is how long raft may wait to enqueue: the ctx deadline if any.
func waitFor(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return defaultApplyWait
}

// wait waits for f or ctx, translating raft's errors into the package's.
func wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, raft.ErrLeadershipLost):
			// The entry was in the log when leadership went: the next
			// leader may well commit it. Saying "not the leader" would
			// invite a retry that applies the change twice.
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return fmt.Errorf("%w: %w", ErrNotLeader, err)
		case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown):
			return fmt.Errorf("%w: %w", ErrNoQuorum, err)
		default:
			return fmt.Errorf("raft: %w", err)
		}
	case <-ctx.Done():
		// The entry may still commit later; the caller must not assume
		// either outcome.
		return fmt.Errorf("raft: outcome unknown: %w", ctx.Err())
	}
}

// Leader returns the leader's address and ID ("" when unknown).
func (n *raftNode) Leader() (addr, id string) {
	a, i := n.r.LeaderWithID()
	return string(a), string(i)
}

// State is the node's Raft role.
func (n *raftNode) State() Role { return roleOf(n.r.State()) }

// Shutdown stops the node and closes its stores. Raft closes the transport
// itself.
func (n *raftNode) Shutdown() error {
	errs := []error{}
	if err := n.r.Shutdown().Error(); err != nil {
		errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
	}
	n.r.DeregisterObserver(n.observer)
	close(n.stopRecord)
	<-n.recordDone
	if err := n.saveApplied(); err != nil {
		errs = append(errs, err)
	}
	if err := n.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close raft log store: %w", err))
	}
	return errors.Join(errs...)
}
