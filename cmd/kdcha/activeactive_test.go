package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// activeActiveVIPs are the three VIPs of TestActiveActive, one preferred
// by each node (configs/active-active-node.yaml's pattern).
var activeActiveVIPs = []string{"192.0.2.11", "192.0.2.12", "192.0.2.13"}

// activeActiveInstances is node i's vrrp.instances: one instance per VIP,
// priorities rotated so node i prefers VIP i and node i+1 backs it up.
func activeActiveInstances(i int) string {
	prio := []int{150, 100, 50} // VIP v on node v, v+1, v+2 (mod 3)
	var b strings.Builder
	for v, vip := range activeActiveVIPs {
		fmt.Fprintf(&b, `    - name: VI_KDC%d
      interface: eth0
      vrid: %d
      priority: %d
      version: 3
      advert_interval: 100ms
      virtual_ipaddresses: [%s/24]
`, v+1, 51+v, prio[(i-v+3)%3], vip)
	}
	return b.String()
}

// TestActiveActive runs the documented scale-out pattern: three agents,
// three VRRP instances each, one VIP preferred by each node. Every VIP is
// served by its own node; a crashed node's VIP, and only that one, moves
// to the next node in the rotation; the node's return moves it back and
// nothing else.
func TestActiveActive(t *testing.T) {
	t.Parallel()
	l := newHALAN(t)
	var nodes []*haNode
	for i := range 3 {
		nodes = append(nodes, l.addNodeInstances(fmt.Sprintf("aa%d", i+1), fmt.Sprintf("192.0.2.%d", i+1), activeActiveInstances(i)))
	}
	for _, n := range nodes {
		n.start(t)
		l.addUser(n)
	}
	// want[v] is the node that should hold VIP v.
	waitHolders := func(want []*haNode) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var got []string
			ok := true
			for v, vip := range activeActiveVIPs {
				var hs []string
				for _, n := range nodes {
					if n.cmd != nil && n.holdsAddr(vip) {
						hs = append(hs, n.name)
					}
				}
				got = append(got, fmt.Sprintf("%s=%v", vip, hs))
				ok = ok && len(hs) == 1 && hs[0] == want[v].name
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("VIP holders %v, want %s, %s, %s", got, want[0].name, want[1].name, want[2].name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	kinitAll := func() {
		t.Helper()
		for _, vip := range activeActiveVIPs {
			if err := l.clientKinitVia(vip); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitHolders(nodes)
	kinitAll()

	// Node 2 (the preferred holder of .12) dies: .12 goes to node 3, the
	// next in the rotation (priority 100 there, 50 on node 1); .11 and .13
	// never move, so node 1's and node 3's clients notice nothing.
	moves := watchVIPMoves(t, nodes)
	nodes[1].crash(t)
	waitHolders([]*haNode{nodes[0], nodes[2], nodes[2]})
	kinitAll()
	if got := moves.stop(); got[activeActiveVIPs[0]]+got[activeActiveVIPs[2]] != 0 || got[activeActiveVIPs[1]] != 1 {
		t.Fatalf("VIP additions during the crash: %v, want only %s added once", got, activeActiveVIPs[1])
	}

	// Node 2 returns: it takes .12 back (preemption after its startup
	// hold), and nothing else moves.
	moves = watchVIPMoves(t, nodes)
	nodes[1].revive(t)
	waitHolders(nodes)
	kinitAll()
	if got := moves.stop(); got[activeActiveVIPs[0]]+got[activeActiveVIPs[2]] != 0 || got[activeActiveVIPs[1]] != 1 {
		t.Fatalf("VIP additions after the return: %v, want only %s added once", got, activeActiveVIPs[1])
	}
}

// vipMoves counts, per VIP, how many times some node added it.
type vipMoves struct {
	stopc chan struct{}
	done  chan map[string]int
}

// watchVIPMoves polls the nodes' addresses every 10 ms and counts each
// VIP's appearances on a node that did not have it (a move or a duplicate),
// until stop. Polling, not netlink: a move takes longer than the poll
// period, since a backup waits at least its skew time.
func watchVIPMoves(t *testing.T, nodes []*haNode) *vipMoves {
	t.Helper()
	w := &vipMoves{stopc: make(chan struct{}), done: make(chan map[string]int, 1)}
	held := func() map[string]bool {
		m := map[string]bool{}
		for _, n := range nodes {
			for _, vip := range activeActiveVIPs {
				if n.holdsAddr(vip) {
					m[n.name+" "+vip] = true
				}
			}
		}
		return m
	}
	before := held()
	go func() {
		counts := map[string]int{}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stopc:
				w.done <- counts
				return
			case <-tick.C:
			}
			now := held()
			for k := range now {
				if !before[k] {
					counts[k[strings.IndexByte(k, ' ')+1:]]++
				}
			}
			before = now
		}
	}()
	return w
}

// stop ends the watch and returns the counts.
func (w *vipMoves) stop() map[string]int {
	close(w.stopc)
	return <-w.done
}
