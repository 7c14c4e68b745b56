package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
)

// TestMeasureClusterWrites measures replicated writes on a real three-node
// cluster (three agent processes on loopback, Raft over mutual TLS, bolt
// fsync on each node): latency of one `principal add` through the leader's
// and through a follower's admin API, and writes/s with one writer per
// node. It prints figures and runs only with KDCHA_BENCH=1:
//
//	KDCHA_BENCH=1 go test ./cmd/kdcha -run MeasureClusterWrites -v
func TestMeasureClusterWrites(t *testing.T) {
	if os.Getenv("KDCHA_BENCH") == "" {
		t.Skip("set KDCHA_BENCH=1 to measure replicated writes")
	}
	nodes := startCluster(t, "n1", "n2", "n3")
	leader := nodes[0].status(t).Self.LeaderID
	var lead, follower *clusterNode
	for _, n := range nodes {
		if n.name == leader {
			lead = n
		} else {
			follower = n
		}
	}
	client := func(n *clusterNode) *admin.Client { return admin.NewClient(filepath.Join(n.dir, "admin.sock")) }
	ctx := context.Background()
	const n = 300
	seq := func(label, prefix string, c *admin.Client) {
		var ds []time.Duration
		for i := range n {
			start := time.Now()
			if _, err := c.Add(ctx, admin.AddRequest{Name: fmt.Sprintf("%s%d/bench", prefix, i), RandomKey: true}); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		var total time.Duration
		for _, d := range ds {
			total += d
		}
		t.Logf("%-34s n=%d p50=%v p99=%v max=%v (%.0f writes/s sequential)", label, n, pct(ds, .5), pct(ds, .99), ds[n-1].Round(time.Microsecond), float64(n)/total.Seconds())
	}
	seq("add through the leader ("+lead.name+")", "lead", client(lead))
	seq("add through a follower ("+follower.name+")", "foll", client(follower))

	var wg sync.WaitGroup
	start := time.Now()
	for i, node := range nodes {
		c := client(node)
		wg.Go(func() {
			for j := range n {
				if _, err := c.Add(ctx, admin.AddRequest{Name: fmt.Sprintf("par%d/%d", i, j), RandomKey: true}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("one writer per node: %d writes in %v = %.0f writes/s", 3*n, time.Since(start).Round(time.Millisecond), float64(3*n)/time.Since(start).Seconds())
}
