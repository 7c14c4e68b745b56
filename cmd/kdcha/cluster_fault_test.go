package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/kdcha/kdcha/admin"
)

// Fault test parameters: how long the load runs and how often the leader
// is killed by default (KDCHA_FAULT_SECONDS and KDCHA_FAULT_KILLS make a
// longer soak), and the bounds that keep the test short on a small machine.
const (
	faultLoadDefault  = 20 * time.Second
	faultKillsDefault = 3
	faultOpsPerSecond = 75 // write budget per second of load, all workers together (a bound, not a rate)
	faultWorkers      = 4
	faultPause        = 60 * time.Millisecond // between one worker's operations
	faultOpTimeout    = 6 * time.Second
	faultHotNames     = 8
	faultReaddEvery   = 10 // one add in this many re-adds an existing principal
)

// faultParams reads the load duration and kill count, defaults unless set
// in the environment.
func faultParams(t *testing.T) (load time.Duration, kills int) {
	t.Helper()
	load, kills = faultLoadDefault, faultKillsDefault
	if s := os.Getenv("KDCHA_FAULT_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 5 || n > 3600 {
			t.Fatalf("KDCHA_FAULT_SECONDS=%q: want whole seconds, 5 to 3600", s)
		}
		load = time.Duration(n) * time.Second
	}
	if s := os.Getenv("KDCHA_FAULT_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > int(load/(4*time.Second)) {
			t.Fatalf("KDCHA_FAULT_KILLS=%q: want 0 to one per 4 s of load", s)
		}
		kills = n
	}
	return load, kills
}

// faultOutcome is what a client saw of one operation.
type faultOutcome int

const (
	resOK       faultOutcome = iota // acknowledged
	resExists                       // refused: the principal exists
	resNotFound                     // refused: no such principal
	resFailed                       // surely not applied (never reached a node, or refused before forwarding)
	resUnknown                      // may or may not have been applied (timeout, lost reply, ...)
)

func (o faultOutcome) String() string {
	return [...]string{"ok", "exists", "not-found", "failed", "unknown"}[o]
}

// histOp is one recorded client operation.
type histOp struct {
	client     int
	kind       string // "add", "rekey", "get"
	name, node string
	call, ret  time.Duration // since the start of the history
	res        faultOutcome
	kvno       uint32
	err        string
}

// faultHistory records operations from several goroutines.
type faultHistory struct {
	start time.Time
	mu    sync.Mutex
	ops   []histOp
}

func (h *faultHistory) now() time.Duration { return time.Since(h.start) }

func (h *faultHistory) add(op histOp) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// classifyAdminResult turns an admin API result into an outcome. Sure
// failures are a failed connect to the admin socket (the node never saw the
// request) and the refusal of a node that knows no leader (it forwards
// nothing). Every other error may hide a write that was committed, so it is
// unknown.
func classifyAdminResult(err error) faultOutcome {
	if err == nil {
		return resOK
	}
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case 404:
			return resNotFound
		case 409:
			if strings.Contains(apiErr.Message, "exist") {
				return resExists
			}
		case 503:
			// kdc/db callLeader refuses before forwarding anything when
			// the node knows no leader (a restarted node, a candidate).
			if strings.Contains(apiErr.Message, "no leader known to this node") {
				return resFailed
			}
		}
		return resUnknown
	}
	if errors.Is(err, admin.ErrUnreachable) && strings.Contains(err.Error(), "dial unix") {
		return resFailed
	}
	return resUnknown
}

// regState is the model's state of one principal.
type regState struct {
	exists bool
	kvno   uint32
}

type regInput struct {
	kind, name, node string
}

type regOutput struct {
	res  faultOutcome
	kvno uint32
}

// principalModel is the sequential specification of the admin API for one
// principal: add creates it (or reports that it exists), rekey raises its
// kvno by exactly one, a fresh get returns its kvno. An operation whose
// outcome is unknown may or may not have taken effect.
var principalModel = porcupine.NondeterministicModel{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var names []string
		for _, op := range ops {
			n := op.Input.(regInput).name
			if _, ok := by[n]; !ok {
				names = append(names, n)
			}
			by[n] = append(by[n], op)
		}
		var out [][]porcupine.Operation
		for _, n := range names {
			out = append(out, by[n])
		}
		return out
	},
	Init: func() []any { return []any{regState{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(regState), input.(regInput), output.(regOutput)
		switch in.kind {
		case "add":
			switch {
			case out.res == resOK && !s.exists && out.kvno > s.kvno:
				return []any{regState{true, out.kvno}}
			case out.res == resExists && s.exists:
				return []any{s}
			case out.res == resUnknown && !s.exists:
				return []any{s, regState{true, s.kvno + 1}}
			case out.res == resUnknown:
				return []any{s}
			}
		case "rekey":
			switch {
			case out.res == resOK && s.exists && out.kvno == s.kvno+1:
				return []any{regState{true, out.kvno}}
			case out.res == resNotFound && !s.exists:
				return []any{s}
			case out.res == resUnknown && s.exists:
				return []any{s, regState{true, s.kvno + 1}}
			case out.res == resUnknown:
				return []any{s}
			}
		case "get":
			switch {
			case out.res == resOK && s.exists && out.kvno == s.kvno:
				return []any{s}
			case out.res == resNotFound && !s.exists:
				return []any{s}
			}
		}
		return nil
	},
	Equal: func(a, b any) bool { return a.(regState) == b.(regState) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		return fmt.Sprintf("%s(%s)@%s -> %s kvno %d", in.kind, in.name, in.node, out.res, out.kvno)
	},
	DescribeState: func(state any) string {
		s := state.(regState)
		return fmt.Sprintf("exists=%v kvno=%d", s.exists, s.kvno)
	},
}

// keytabKVNO is the highest kvno of name's keys in an MIT keytab.
func keytabKVNO(b []byte, name string) (uint32, error) {
	var kt keytab.Keytab
	if err := kt.Unmarshal(b); err != nil {
		return 0, err
	}
	var kvno uint32
	for _, e := range kt.Entries {
		if strings.Join(e.Principal.Components, "/") == name {
			kvno = max(kvno, e.KVNO)
		}
	}
	if kvno == 0 {
		return 0, fmt.Errorf("no key for %s in the keytab", name)
	}
	return kvno, nil
}

// leaderOf asks the live nodes who leads; it returns nil while no live node
// knows a leader that is also live.
func leaderOf(nodes []*clusterNode, live map[*clusterNode]bool) *clusterNode {
	for _, n := range nodes {
		if !live[n] {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var v admin.ClusterStatus
		err := admin.NewClient(filepath.Join(n.dir, "admin.sock")).ClusterStatus(ctx, &v)
		cancel()
		if err != nil || v.Self.LeaderID == "" {
			continue
		}
		for _, l := range nodes {
			if l.name == v.Self.LeaderID && live[l] {
				return l
			}
		}
	}
	return nil
}

// waitLeader polls until the live nodes agree on a live leader other than
// not (nil: any), for at most limit.
func waitLeader(t *testing.T, nodes []*clusterNode, live map[*clusterNode]bool, not *clusterNode, limit time.Duration) *clusterNode {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if l := leaderOf(nodes, live); l != nil && l != not {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no leader among the live nodes within %v", limit)
	return nil
}

// faultWorker runs one client: adds of new principals (sometimes of an
// existing one) and rekeys of the hot principals, each rekey followed by a
// fresh get and, every few times, a keytab export through the same node.
func faultWorker(id int, h *faultHistory, clients []*admin.Client, names []string, stop <-chan struct{}, budget *int, budgetMu *sync.Mutex, stale func(string), checks *atomic.Int64) {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	take := func() bool {
		budgetMu.Lock()
		defer budgetMu.Unlock()
		if *budget <= 0 {
			return false
		}
		*budget--
		return true
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if !take() {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(faultPause):
		}
		ni := rng.IntN(len(clients))
		c, node := clients[ni], fmt.Sprintf("n%d", ni+1)
		ctx, cancel := context.WithTimeout(context.Background(), faultOpTimeout)
		if rng.IntN(2) == 0 {
			name := fmt.Sprintf("load-%d-%d", id, i)
			if rng.IntN(faultReaddEvery) == 0 {
				name = names[rng.IntN(len(names))]
			}
			op := histOp{client: id, kind: "add", name: name, node: node, call: h.now()}
			p, err := c.Add(ctx, admin.AddRequest{Name: name, RandomKey: true})
			op.ret, op.res, op.kvno = h.now(), classifyAdminResult(err), p.KVNO
			if err != nil {
				op.err = err.Error()
			}
			h.add(op)
			cancel()
			continue
		}
		name := names[rng.IntN(len(names))]
		op := histOp{client: id, kind: "rekey", name: name, node: node, call: h.now()}
		p, err := c.Rekey(ctx, name)
		op.ret, op.res, op.kvno = h.now(), classifyAdminResult(err), p.KVNO
		if err != nil {
			op.err = err.Error()
		}
		h.add(op)
		if op.res == resOK {
			g := histOp{client: id, kind: "get", name: name, node: node, call: h.now()}
			p, err := c.Get(ctx, name)
			g.ret, g.res, g.kvno = h.now(), classifyAdminResult(err), p.KVNO
			if g.res == resOK || g.res == resNotFound {
				h.add(g)
			}
			if g.res == resOK {
				checks.Add(1)
			}
			if g.res == resOK && p.KVNO < op.kvno {
				stale(fmt.Sprintf("get %s through %s returned kvno %d right after that node acknowledged rekey to kvno %d", name, node, p.KVNO, op.kvno))
			}
			if g.res == resNotFound {
				stale(fmt.Sprintf("get %s through %s: not found right after that node acknowledged a rekey to kvno %d", name, node, op.kvno))
			}
			if i%3 == 0 {
				if kt, err := c.Keytab(ctx, []string{name}); err == nil {
					checks.Add(1)
					if kv, err := keytabKVNO(kt, name); err != nil {
						stale(fmt.Sprintf("keytab of %s through %s: %v", name, node, err))
					} else if kv < op.kvno {
						stale(fmt.Sprintf("keytab of %s exported through %s holds kvno %d right after that node acknowledged rekey to kvno %d", name, node, kv, op.kvno))
					}
				}
			}
		}
		cancel()
	}
}

// TestClusterFaultHistoryLinearizable runs three real agents under a
// continuous load of adds and rekeys through every node while the leader is
// killed with SIGKILL three times and restarted on its data dir. It records
// every operation (call and return times, acknowledged, refused, failed or
// unknown) and requires that porcupine finds the history linearizable
// against a per-principal model (add creates, rekey is kvno+1, a fresh get
// returns the current kvno), that every acknowledged add is on every node
// exactly once, that acknowledged kvnos only go up and the final kvno is
// explained by acknowledged plus ambiguous rekeys, and that no node serves
// an older kvno (get or keytab export) right after acknowledging a rekey.
func TestClusterFaultHistoryLinearizable(t *testing.T) {
	testStart := time.Now()
	faultLoad, faultKills := faultParams(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	live := map[*clusterNode]bool{}
	var clients []*admin.Client
	for _, n := range nodes {
		live[n] = true
		clients = append(clients, admin.NewClient(filepath.Join(n.dir, "admin.sock")))
	}
	h := &faultHistory{start: time.Now()}

	// The hot principals every worker rekeys, created before the load.
	var hot []string
	for i := range faultHotNames {
		name := fmt.Sprintf("hot%d", i)
		hot = append(hot, name)
		ctx, cancel := context.WithTimeout(context.Background(), faultOpTimeout)
		op := histOp{client: -1, kind: "add", name: name, node: "n1", call: h.now()}
		p, err := clients[0].Add(ctx, admin.AddRequest{Name: name, RandomKey: true})
		cancel()
		if err != nil {
			t.Fatalf("add %s before the load: %v", name, err)
		}
		op.ret, op.res, op.kvno = h.now(), resOK, p.KVNO
		h.add(op)
	}

	var (
		staleMu  sync.Mutex
		checks   atomic.Int64
		stales   []string
		budgetMu sync.Mutex
		budget   = int(faultLoad/time.Second) * faultOpsPerSecond
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	stale := func(s string) {
		staleMu.Lock()
		stales = append(stales, s)
		staleMu.Unlock()
	}
	loadStart := time.Now()
	for id := range faultWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			faultWorker(id, h, clients, hot, stop, &budget, &budgetMu, stale, &checks)
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)

	// Kill the current leader with SIGKILL, measure how long the others
	// take to agree on a new one, restart the killed node on its data dir.
	var (
		elections    []time.Duration
		lastRestart  time.Duration
		killedLeader []string
	)
	interval := faultLoad / time.Duration(faultKills+1)
	for k := range faultKills {
		time.Sleep(time.Until(loadStart.Add(time.Duration(k+1) * interval)))
		leader := waitLeader(t, nodes, live, nil, 15*time.Second)
		killedLeader = append(killedLeader, leader.name)
		t0 := time.Now()
		leader.signal(syscall.SIGKILL)
		live[leader] = false
		next := waitLeader(t, nodes, live, leader, 15*time.Second)
		elections = append(elections, time.Since(t0))
		t.Logf("kill %d: leader %s killed at %v of load; %s leads after %v", k+1, leader.name, t0.Sub(loadStart).Round(time.Millisecond), next.name, time.Since(t0).Round(time.Millisecond))
		time.Sleep(time.Second)
		leader.start(t)
		live[leader] = true
		lastRestart = h.now()
	}
	time.Sleep(time.Until(loadStart.Add(faultLoad)))
	stopLoad()
	loadTook := time.Since(loadStart)

	// Settle: every node a caught-up voter. Any write still undecided at
	// this point can no longer be committed, so ambiguous operations are
	// linearized before the final reads.
	waitVoters(t, nodes[0], len(nodes))
	settled := h.now()

	ops := slices.Clone(h.ops)
	touched := map[string]bool{}
	for _, op := range ops {
		touched[op.name] = true
	}
	// Final fresh reads through every node, part of the checked history.
	lists := map[string]map[string]int{}        // node -> name -> count
	finalKVNO := map[string]map[string]uint32{} // node -> name -> kvno
	for i, c := range clients {
		node := nodes[i].name
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		all, err := c.List(ctx)
		cancel()
		if err != nil {
			t.Fatalf("list through %s after settling: %v", node, err)
		}
		lists[node], finalKVNO[node] = map[string]int{}, map[string]uint32{}
		for _, p := range all {
			short := strings.TrimSuffix(p.Name, "@CLUSTER.TEST")
			lists[node][short]++
			finalKVNO[node][short] = p.KVNO
		}
		for name := range touched {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			g := histOp{client: -2, kind: "get", name: name, node: node, call: h.now()}
			p, err := c.Get(ctx, name)
			cancel()
			g.ret, g.res, g.kvno = h.now(), classifyAdminResult(err), p.KVNO
			if g.res != resOK && g.res != resNotFound {
				t.Fatalf("final get %s through %s: %v", name, node, err)
			}
			ops = append(ops, g)
		}
	}

	// What the KDCs serve: every node's local replica (keytab export reads
	// it without a barrier) holds the final kvno of every hot principal.
	for i, c := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		kt, err := c.Keytab(ctx, hot)
		cancel()
		if err != nil {
			t.Fatalf("keytab export through %s after settling: %v", nodes[i].name, err)
		}
		for _, name := range hot {
			kv, err := keytabKVNO(kt, name)
			if err != nil || kv != finalKVNO[nodes[i].name][name] {
				t.Errorf("keytab through %s: %s kvno %d (%v), the fresh list says %d", nodes[i].name, name, kv, err, finalKVNO[nodes[i].name][name])
			}
		}
	}

	// Figures.
	count := map[string]map[faultOutcome]int{}
	for _, op := range ops {
		if count[op.kind] == nil {
			count[op.kind] = map[faultOutcome]int{}
		}
		count[op.kind][op.res]++
	}
	t.Logf("history: %d operations in %v of load (%d leader kills: %v; new leader after %v); adds %v, rekeys %v, gets %v",
		len(ops), loadTook.Round(time.Millisecond), faultKills, killedLeader, elections, count["add"], count["rekey"], count["get"])

	shown := 0
	for _, op := range ops {
		if op.res == resUnknown && shown < 5 {
			committed := "?"
			if op.kind == "add" {
				committed = strconv.FormatBool(lists[nodes[0].name][op.name] > 0)
			}
			t.Logf("ambiguous %s(%s) through %s (committed: %s): %s", op.kind, op.name, op.node, committed, op.err)
			shown++
		}
	}

	// No stale reads right after an acknowledged rekey.
	t.Logf("read-your-rekey checks (get or keytab through the acknowledging node): %d", checks.Load())
	for _, s := range stales {
		t.Errorf("stale read: %s", s)
	}

	// Every acknowledged add is on every node exactly once; nothing that
	// surely failed or was never asked for is there.
	maybe := map[string]bool{}
	ambiguousApplied := 0 // writes that failed for the client yet were committed
	for _, op := range ops {
		if op.kind == "add" && op.res == resOK {
			for _, n := range nodes {
				if c := lists[n.name][op.name]; c != 1 {
					t.Errorf("acknowledged add of %s (through %s): %d copies on %s", op.name, op.node, c, n.name)
				}
			}
		}
		if op.kind == "add" && op.res != resFailed {
			maybe[op.name] = true
		}
		if op.kind == "add" && op.res == resUnknown && lists[nodes[0].name][op.name] > 0 {
			ambiguousApplied++
		}
	}
	for _, n := range nodes {
		for name, c := range lists[n.name] {
			if strings.HasPrefix(name, "load-") && !maybe[name] {
				t.Errorf("%s holds %s (x%d), which no acknowledged or ambiguous add created", n.name, name, c)
			}
		}
	}

	// kvnos only go up: acknowledged rekeys of one principal are distinct
	// and ordered as they were in real time; the final kvno is the created
	// one plus the acknowledged rekeys plus at most the ambiguous ones.
	for _, name := range hot {
		var acked []histOp
		unknown := 0
		for _, op := range ops {
			if op.name != name || op.kind != "rekey" {
				continue
			}
			switch op.res {
			case resOK:
				acked = append(acked, op)
			case resUnknown:
				unknown++
			}
		}
		sort.Slice(acked, func(i, j int) bool { return acked[i].call < acked[j].call })
		seen := map[uint32]bool{}
		for i, a := range acked {
			if seen[a.kvno] {
				t.Errorf("%s: two acknowledged rekeys returned kvno %d", name, a.kvno)
			}
			seen[a.kvno] = true
			for _, b := range acked[i+1:] {
				if a.ret < b.call && a.kvno >= b.kvno {
					t.Errorf("%s: rekey through %s acknowledged kvno %d, a later rekey through %s acknowledged kvno %d", name, a.node, a.kvno, b.node, b.kvno)
				}
			}
		}
		low := uint32(1 + len(acked))
		if f := finalKVNO[nodes[0].name][name]; f > low {
			ambiguousApplied += int(f - low)
		}
		for _, n := range nodes {
			got := finalKVNO[n.name][name]
			if got < low || got > low+uint32(unknown) {
				t.Errorf("%s: final kvno %d on %s; created at 1 with %d acknowledged and %d ambiguous rekeys", name, got, n.name, len(acked), unknown)
			}
			if got != finalKVNO[nodes[0].name][name] {
				t.Errorf("%s: final kvno %d on %s but %d on %s", name, got, n.name, finalKVNO[nodes[0].name][name], nodes[0].name)
			}
		}
	}

	ambiguous := count["add"][resUnknown] + count["rekey"][resUnknown]
	t.Logf("ambiguous writes: %d, of which committed all the same: %d", ambiguous, ambiguousApplied)

	// Progress after the last restart: the cluster acknowledged writes.
	progress := 0
	for _, op := range ops {
		if op.kind != "get" && op.res == resOK && op.call > lastRestart {
			progress++
		}
	}
	if progress == 0 {
		t.Errorf("no write acknowledged after the last restart at %v", lastRestart)
	}

	// Linearizability of the whole history.
	var pops []porcupine.Operation
	for _, op := range ops {
		if op.res == resFailed {
			continue
		}
		ret := op.ret.Nanoseconds()
		if op.res == resUnknown {
			ret = settled.Nanoseconds()
		}
		pops = append(pops, porcupine.Operation{
			ClientId: op.client + 2,
			Input:    regInput{kind: op.kind, name: op.name, node: op.node},
			Call:     op.call.Nanoseconds(),
			Output:   regOutput{res: op.res, kvno: op.kvno},
			Return:   ret,
		})
	}
	model := principalModel.ToModel()
	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, pops, 30*time.Second)
	t.Logf("porcupine: %s on %d operations in %v; whole test %v", res, len(pops), time.Since(checkStart).Round(time.Millisecond), time.Since(testStart).Round(time.Millisecond))
	if res != porcupine.Ok {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("kdcha-fault-history-%d.html", time.Now().Unix()))
		if err := porcupine.VisualizePath(model, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		for _, op := range ops {
			if op.res == resUnknown || op.res == resFailed {
				t.Logf("%s %s(%s)@%s: %s", op.res, op.kind, op.name, op.node, op.err)
			}
		}
		t.Fatalf("history is not linearizable: %s", res)
	}
}

// TestFaultModelRejectsBadHistories checks the checker itself: the model
// used by the fault test accepts a plain history and rejects a stale read,
// a kvno that skips, a lost acknowledged add, and an unknown rekey does not
// excuse a kvno two steps ahead.
func TestFaultModelRejectsBadHistories(t *testing.T) {
	op := func(client int, kind string, call, ret int64, res faultOutcome, kvno uint32) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: regInput{kind: kind, name: "p"}, Call: call, Output: regOutput{res: res, kvno: kvno}, Return: ret}
	}
	base := []porcupine.Operation{op(0, "add", 0, 1, resOK, 1), op(0, "rekey", 2, 3, resOK, 2)}
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		ok   bool
	}{
		{"fresh read", append(slices.Clone(base), op(1, "get", 4, 5, resOK, 2)), true},
		{"concurrent read may see the old kvno", append(slices.Clone(base), op(1, "get", 2, 5, resOK, 1)), true},
		{"stale read after the ack", append(slices.Clone(base), op(1, "get", 4, 5, resOK, 1)), false},
		{"kvno skips", append(slices.Clone(base), op(1, "rekey", 4, 5, resOK, 4)), false},
		{"acknowledged add lost", []porcupine.Operation{op(0, "add", 0, 1, resOK, 1), op(1, "get", 2, 3, resNotFound, 0)}, false},
		{"duplicate add acknowledged", []porcupine.Operation{op(0, "add", 0, 1, resOK, 1), op(1, "add", 2, 3, resOK, 1)}, false},
		{"unknown rekey may apply", append(slices.Clone(base), op(1, "rekey", 4, 100, resUnknown, 0), op(2, "get", 101, 102, resOK, 3)), true},
		{"unknown rekey may not apply", append(slices.Clone(base), op(1, "rekey", 4, 100, resUnknown, 0), op(2, "get", 101, 102, resOK, 2)), true},
		{"one unknown rekey is not two", append(slices.Clone(base), op(1, "rekey", 4, 100, resUnknown, 0), op(2, "get", 101, 102, resOK, 4)), false},
	} {
		if got := porcupine.CheckOperations(principalModel.ToModel(), tc.ops); got != tc.ok {
			t.Errorf("%s: linearizable=%v, want %v", tc.name, got, tc.ok)
		}
	}
}
