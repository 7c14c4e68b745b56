package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testCluster runs kdcha database nodes in one process, connected by
// raft's in-memory transport, with forwarding as a direct call to the
// leader's HandleForwarded. cut nodes are partitioned: no Raft traffic and
// no forwarding in or out.
type testCluster struct {
	t     testing.TB
	stash string // the realm's master key, shared by every node
	// tcp makes nodes use raft's network transport over TCP on loopback
	// (NewNetworkTransport) instead of the in-memory one (benchmarks, log
	// tests; partition then does not work). A restarted node listens on
	// its old address.
	tcp bool
	// logger is node id's logger, for the database and its transport;
	// nil means testLogger.
	logger func(id string) *slog.Logger

	mu    sync.Mutex
	nodes map[string]*testNode // by node ID
	cut   map[string]bool
}

type testNode struct {
	id, dir string
	addr    raft.ServerAddress
	trans   raft.Transport // nil while stopped
	db      *DB
}

const clusterHeartbeat = 250 * time.Millisecond

var errUnreachable = errors.New("test network: unreachable")

func newTestCluster(t testing.TB) *testCluster {
	t.Helper()
	stash := filepath.Join(t.TempDir(), "master.key")
	if _, err := CreateMasterKey(stash); err != nil {
		t.Fatal(err)
	}
	c := &testCluster{t: t, stash: stash, nodes: map[string]*testNode{}, cut: map[string]bool{}}
	t.Cleanup(func() {
		for _, n := range c.all() {
			if n.db != nil { // nil when its open failed
				n.db.Close()
			}
		}
	})
	return c
}

// startCluster bootstraps n1 and adds n2..nN as joining voters.
func startCluster(t testing.TB, size int, tune func(*Options)) *testCluster {
	t.Helper()
	return startClusterOf(newTestCluster(t), size, tune)
}

func startClusterOf(c *testCluster, size int, tune func(*Options)) *testCluster {
	c.t.Helper()
	c.open("n1", false, tune)
	for i := 2; i <= size; i++ {
		c.join(fmt.Sprintf("n%d", i), tune)
	}
	c.waitConverged()
	return c
}

// options are the Options of node id in dir.
func (c *testCluster) options(id, dir string, trans raft.Transport, join bool, tune func(*Options)) Options {
	o := Options{
		DataDir:         dir,
		Realm:           testRealm,
		MasterKeyPath:   c.stash,
		CreateIfMissing: true,
		NodeID:          id,
		Logger:          c.loggerOf(id),
		Transport:       trans,
		Join:            join,
		Forward:         c.forwarder(id),
		raftHeartbeat:   clusterHeartbeat,
	}
	if tune != nil {
		tune(&o)
	}
	return o
}

// open starts node id, in a new data dir the first time and in its old one
// (a restart) afterwards.
func (c *testCluster) open(id string, join bool, tune func(*Options)) *testNode {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[id]
	if n == nil {
		n = &testNode{id: id, dir: filepath.Join(c.t.TempDir(), id), addr: raft.ServerAddress(id)}
		c.nodes[id] = n
	}
	if c.tcp {
		listen := "127.0.0.1:0"
		if n.addr != raft.ServerAddress(id) {
			listen = string(n.addr)
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			c.mu.Unlock()
			c.t.Fatal(err)
		}
		trans := NewNetworkTransport(tcpStream{ln}, c.loggerOf(id))
		n.trans, n.addr = trans, trans.LocalAddr()
	} else {
		_, inmem := raft.NewInmemTransport(n.addr)
		for _, o := range c.nodes {
			if o != n && o.trans != nil && !c.cut[o.id] && !c.cut[id] {
				inmem.Connect(o.addr, o.trans)
				o.trans.(*raft.InmemTransport).Connect(n.addr, inmem)
			}
		}
		n.trans = inmem
	}
	c.mu.Unlock()
	d, err := Open(c.options(id, n.dir, n.trans, join, tune))
	if err != nil {
		c.t.Fatalf("open %s: %v", id, err)
	}
	c.mu.Lock()
	n.db = d
	c.mu.Unlock()
	return n
}

// loggerOf is node id's logger.
func (c *testCluster) loggerOf(id string) *slog.Logger {
	if c.logger != nil {
		return c.logger(id)
	}
	return testLogger().With("node", id)
}

// tcpStream is a raft.StreamLayer over plain TCP (the product's is the
// cluster package's mutual TLS).
type tcpStream struct{ net.Listener }

func (s tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// join starts a fresh node and has the cluster add it.
func (c *testCluster) join(id string, tune func(*Options)) *testNode {
	c.t.Helper()
	n := c.open(id, true, tune)
	if err := c.leader().db.AddVoter(testCtx(c.t), id, string(n.addr)); err != nil {
		c.t.Fatalf("add voter %s: %v", id, err)
	}
	return n
}

// stop closes node id's database (its transport closes with it).
func (c *testCluster) stop(id string) {
	c.t.Helper()
	n := c.node(id)
	if err := n.db.Close(); err != nil {
		c.t.Fatalf("close %s: %v", id, err)
	}
	c.mu.Lock()
	n.trans = nil
	c.mu.Unlock()
}

// partition cuts (or, with cut false, reconnects) node id from all others.
func (c *testCluster) partition(id string, cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut[id] = cut
	n := c.nodes[id].trans.(*raft.InmemTransport)
	for _, o := range c.nodes {
		if o.id == id || o.trans == nil {
			continue
		}
		other := o.trans.(*raft.InmemTransport)
		if cut {
			n.Disconnect(o.addr)
			other.Disconnect(c.nodes[id].addr)
		} else {
			n.Connect(o.addr, other)
			other.Connect(c.nodes[id].addr, n)
		}
	}
}

// forwarder is node id's Options.Forward: a call to the HandleForwarded
// of the leader that node knows, unless either side is cut off.
func (c *testCluster) forwarder(id string) func(context.Context, []byte) ([]byte, error) {
	return func(ctx context.Context, req []byte) ([]byte, error) {
		c.mu.Lock()
		self := c.nodes[id].db
		c.mu.Unlock()
		addr, leaderID := self.node.Leader()
		c.mu.Lock()
		leader := c.nodes[leaderID]
		down := leader == nil || leader.trans == nil || string(leader.addr) != addr || c.cut[id] || c.cut[leaderID]
		var ldb *DB
		if !down {
			ldb = leader.db
		}
		c.mu.Unlock()
		if down {
			return nil, errUnreachable
		}
		return ldb.HandleForwarded(ctx, req)
	}
}

func (c *testCluster) node(id string) *testNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// all returns the running nodes.
func (c *testCluster) all() []*testNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ns []*testNode
	for _, n := range c.nodes {
		if n.trans != nil {
			ns = append(ns, n)
		}
	}
	return ns
}

// leader waits (bounded) for a running, connected node to lead.
func (c *testCluster) leader() *testNode {
	c.t.Helper()
	var found *testNode
	c.eventually("a leader", func() bool {
		for _, n := range c.all() {
			if n.db.node.isLeader() && !c.isCut(n.id) {
				found = n
				return true
			}
		}
		return false
	})
	return found
}

// followers returns the running nodes that are not the leader.
func (c *testCluster) followers() []*testNode {
	c.t.Helper()
	l := c.leader()
	var fs []*testNode
	for _, n := range c.all() {
		if n != l {
			fs = append(fs, n)
		}
	}
	return fs
}

func (c *testCluster) isCut(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut[id]
}

// waitConverged waits until every running node has applied the leader's
// last index.
func (c *testCluster) waitConverged() {
	c.t.Helper()
	want := c.leader().db.node.r.LastIndex()
	c.eventually(fmt.Sprintf("all nodes applied index %d", want), func() bool {
		for _, n := range c.all() {
			if !c.isCut(n.id) && n.db.node.r.AppliedIndex() < want {
				return false
			}
		}
		return true
	})
}

// eventually polls cond for up to 10 s.
func (c *testCluster) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
