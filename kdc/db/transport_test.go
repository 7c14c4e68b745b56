package db

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/kdcha/kdcha/internal/procsock"
)

// TestSingleNodeOpensNoSocket is the regression test for an unauthenticated
// writer: a single node used to start raft's TCP transport on 127.0.0.1, and
// hashicorp/raft applies AppendEntries from anyone claiming a higher term, so
// any local user could delete krbtgt and alias it to a key they knew. A
// single node must open no socket at all. (Not parallel: it diffs this
// process's listeners, so no other test may open one meanwhile.)
func TestSingleNodeOpensNoSocket(t *testing.T) {
	before, err := procsock.Listening(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	d := openTestDB(t, t.TempDir())
	if _, err := d.Create(t.Context(), CreateRequest{Name: "alice", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	after, err := procsock.Listening(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range after {
		if !slices.Contains(before, s) {
			t.Errorf("single-node Open left a listening socket: %v", s)
		}
	}
}

// TestSingleNodeRefusesClusterDataDir: a cluster member's data dir opened
// without the cluster's transport would wait forever for peers it cannot
// reach; it is refused with a message saying what is missing.
func TestSingleNodeRefusesClusterDataDir(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	_, trans := raft.NewInmemTransport("a")
	o.Transport = trans
	d, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.node.r.AddVoter("peer", "peer-addr", 0, 0).Error(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = Open(testOptions(dir))
	if err == nil {
		d.Close()
		t.Fatal("a two-voter data dir opened without a transport")
	}
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cluster.listen") {
		t.Fatalf("err = %v, want ErrInvalid naming cluster.listen", err)
	}
}
