package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// node is what the database needs from consensus. It is small so that the
// multi-node implementation (joins, forwarding to the leader, mutual TLS)
// can replace the single-node one without touching the DB type.
type node interface {
	// Apply commits cmd and returns the FSM's result for it. It fails fast
	// with ErrNotLeader or ErrNoQuorum instead of queueing, and honours
	// ctx's deadline.
	Apply(ctx context.Context, cmd []byte) (any, error)
	// Barrier returns once every entry committed before the call has been
	// applied to the local FSM.
	Barrier(ctx context.Context) error
	// Leader returns the leader's address and ID ("" when unknown).
	Leader() (addr, id string)
	// State is "Leader", "Follower", "Candidate" or "Shutdown".
	State() string
	// Shutdown stops the node and closes its stores.
	Shutdown() error
}

// raftConfig are the knobs of the Raft node that Open sets.
type raftConfig struct {
	dataDir  string
	bindAddr string
	nodeID   string
	// heartbeat is raft's HeartbeatTimeout/ElectionTimeout; zero means
	// raft's default (1 s), which is right for a LAN cluster. Tests lower
	// it to start a single node faster.
	heartbeat    time.Duration
	startTimeout time.Duration
	log          *slog.Logger
}

// raftNode is the hashicorp/raft implementation of node.
type raftNode struct {
	r     *raft.Raft
	store *raftboltdb.BoltStore
	fsm   *fsm
	log   *slog.Logger

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
// configuration on first start and waits (bounded) for this node to lead.
func startRaft(cfg raftConfig, f *fsm) (_ *raftNode, err error) {
	hlog := newHCLogAdapter(cfg.log)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.nodeID)
	rc.Logger = hlog
	// A snapshot is the full principal set; take one every couple of
	// thousand changes and keep enough log for a follower that was briefly
	// away to catch up without a snapshot install.
	rc.SnapshotThreshold = 2048
	rc.TrailingLogs = 4096
	rc.SnapshotInterval = time.Minute
	if cfg.heartbeat > 0 {
		rc.HeartbeatTimeout = cfg.heartbeat
		rc.ElectionTimeout = cfg.heartbeat
		rc.LeaderLeaseTimeout = cfg.heartbeat / 2
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
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.dataDir, snapshotsRetained, hlog)
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.bindAddr)
	if err != nil {
		return nil, fmt.Errorf("raft bind address %q: %w", cfg.bindAddr, err)
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		// The bound address is also the one peers are told to dial.
		return nil, fmt.Errorf("%w: raft bind address %q must be a specific IP, not a wildcard", ErrInvalid, cfg.bindAddr)
	}
	trans, err := raft.NewTCPTransportWithLogger(cfg.bindAddr, nil, 3, 10*time.Second, hlog)
	if err != nil {
		return nil, fmt.Errorf("raft transport on %s: %w", cfg.bindAddr, err)
	}
	defer func() {
		if err != nil {
			trans.Close()
		}
	}()

	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return nil, fmt.Errorf("inspect raft state: %w", err)
	}
	if !existing {
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
		return nil, fmt.Errorf("start raft (snapshots in %s): %w", filepath.Join(cfg.dataDir, "snapshots"), err)
	}
	n := &raftNode{r: r, store: store, fsm: f, log: cfg.log, stopRecord: make(chan struct{}), recordDone: make(chan struct{})}
	replayed, err := replayCommitted(store, f)
	if err == nil {
		err = n.awaitSingleLeader(rc.LocalID, cfg.startTimeout)
	}
	if err != nil {
		// The deferred closes release the store and transport.
		r.Shutdown().Error()
		return nil, err
	}
	if replayed > 0 {
		cfg.log.Debug("replayed committed raft entries before leader contact", "entries", replayed)
	}
	go n.recordApplied(n.stopRecord, n.recordDone)
	return n, nil
}

// awaitSingleLeader waits until this node leads if it is the only voter, so
// that Open returns a database that accepts writes and has replayed its log.
// In a multi-voter configuration leadership depends on peers, so it does
// not wait.
func (n *raftNode) awaitSingleLeader(self raft.ServerID, timeout time.Duration) error {
	f := n.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("read raft configuration: %w", err)
	}
	servers := f.Configuration().Servers
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return s.ID == self }) {
		return fmt.Errorf("this node (raft ID %q) is not in the raft configuration %v", self, servers)
	}
	if len(servers) != 1 {
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

// Apply implements node.
func (n *raftNode) Apply(ctx context.Context, cmd []byte) (any, error) {
	// A caller that already gave up gets a definite "nothing happened"
	// rather than the "outcome unknown" of a cancellation mid-commit.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := n.checkLeader(); err != nil {
		return nil, err
	}
	f := n.r.Apply(cmd, waitFor(ctx))
	if err := wait(ctx, f); err != nil {
		return nil, err
	}
	return f.Response(), nil
}

// Barrier implements node.
func (n *raftNode) Barrier(ctx context.Context) error {
	if err := n.checkLeader(); err != nil {
		return err
	}
	return wait(ctx, n.r.Barrier(waitFor(ctx)))
}

// checkLeader fails fast when this node cannot commit: raft would otherwise
// accept the entry and fail only after the enqueue timeout.
func (n *raftNode) checkLeader() error {
	switch n.r.State() {
	case raft.Leader:
		return nil
	case raft.Shutdown:
		return fmt.Errorf("%w: raft is shut down", ErrNoQuorum)
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
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrLeadershipTransferInProgress):
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

// Leader implements node.
func (n *raftNode) Leader() (addr, id string) {
	a, i := n.r.LeaderWithID()
	return string(a), string(i)
}

// State implements node.
func (n *raftNode) State() string { return n.r.State().String() }

// Shutdown implements node. Raft closes the transport itself.
func (n *raftNode) Shutdown() error {
	errs := []error{}
	if err := n.r.Shutdown().Error(); err != nil {
		errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
	}
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
