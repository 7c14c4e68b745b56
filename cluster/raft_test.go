package cluster

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// listFSM records applied entries.
type listFSM struct {
	mu      sync.Mutex
	entries []string
}

func (f *listFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, string(l.Data))
	return nil
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) {
	return nil, fmt.Errorf("not needed in this test")
}
func (f *listFSM) Restore(io.ReadCloser) error { return fmt.Errorf("not needed in this test") }

func (f *listFSM) has(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.entries {
		if e == s {
			return true
		}
	}
	return false
}

// TestRaftOverMux runs three raft nodes whose only transport is the mux:
// they must elect a leader and replicate an entry over mutual TLS.
func TestRaftOverMux(t *testing.T) {
	first := newCluster(t, "node0")
	creds := []*Credentials{first, addMember(t, first, "node1"), addMember(t, first, "node2")}
	var (
		muxes   []*Mux
		servers []raft.Server
	)
	for _, c := range creds {
		m := startMux(t, c, nil)
		muxes = append(muxes, m)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(c.NodeID()), Address: raft.ServerAddress(m.Advertise())})
	}
	var (
		rafts []*raft.Raft
		fsms  []*listFSM
	)
	for i, m := range muxes {
		conf := raft.DefaultConfig()
		conf.LocalID = servers[i].ID
		conf.HeartbeatTimeout = 200 * time.Millisecond
		conf.ElectionTimeout = 200 * time.Millisecond
		conf.LeaderLeaseTimeout = 100 * time.Millisecond
		conf.CommitTimeout = 10 * time.Millisecond
		conf.LogOutput = io.Discard
		store := raft.NewInmemStore()
		snaps := raft.NewInmemSnapshotStore()
		trans := raft.NewNetworkTransport(m.StreamLayer(), 3, 2*time.Second, io.Discard)
		if trans.LocalAddr() != servers[i].Address {
			t.Fatalf("transport address %s, want the advertised %s", trans.LocalAddr(), servers[i].Address)
		}
		if i == 0 {
			if err := raft.BootstrapCluster(conf, store, store, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
				t.Fatalf("bootstrap: %v", err)
			}
		}
		f := &listFSM{}
		r, err := raft.NewRaft(conf, f, store, store, snaps, trans)
		if err != nil {
			t.Fatalf("NewRaft %d: %v", i, err)
		}
		t.Cleanup(func() {
			if err := r.Shutdown().Error(); err != nil {
				t.Errorf("raft %d shutdown: %v", i, err)
			}
		})
		rafts = append(rafts, r)
		fsms = append(fsms, f)
	}

	var leader *raft.Raft
	eventually(t, 15*time.Second, "a leader", func() bool {
		for _, r := range rafts {
			if r.State() == raft.Leader {
				leader = r
				return true
			}
		}
		return false
	})
	if err := leader.Apply([]byte("principal-1"), 5*time.Second).Error(); err != nil {
		t.Fatalf("Apply on the leader: %v", err)
	}
	eventually(t, 10*time.Second, "the entry on every node", func() bool {
		for _, f := range fsms {
			if !f.has("principal-1") {
				return false
			}
		}
		return true
	})
	for i, m := range muxes {
		if s := m.Refused(); s != (RefusedStats{}) {
			t.Errorf("node %d refused connections between members: %+v", i, s)
		}
	}
}
