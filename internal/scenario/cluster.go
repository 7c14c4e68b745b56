package scenario

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/netnstest"
	"github.com/kdcha/kdcha/internal/syncbuf"
)

// Fixed names of every scenario cluster.
const (
	// Realm is the cluster's realm.
	Realm = "SCENARIO.TEST"
	// VIP is the virtual address clients use (on the netnstest LAN).
	VIP = "192.0.2.10"
	// User is the client principal the kinit loops and the load use.
	User = "scenuser"
	// userPassword is User's password (the load generator preauthenticates
	// with it; kinit uses a keytab of the same keys).
	userPassword = "Scenario-pw-2026!"
	// interfaceName is every node's LAN interface (netnstest's).
	interfaceName = "eth0"
	// readyTimeout bounds an agent's start until "node ready" on a loaded
	// box (it replays its Raft log and opens the database first).
	readyTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop before the agent is killed.
	stopTimeout = 15 * time.Second
)

// Options shape a cluster.
type Options struct {
	// Bin is the kdcha binary (Build). Required.
	Bin string
	// Nodes is the number of kdcha nodes. Default 3.
	Nodes int
	// Instance is YAML appended to the VRRP instance of every node, each
	// line indented six spaces (e.g. "      version: 3\n"): the config
	// variant under test. Empty: the shipped defaults.
	Instance string
	// VRRP is YAML inserted in every node's vrrp section before its
	// instances, indented two spaces (e.g. "  realtime_priority: 50\n").
	VRRP string
	// Extra is YAML appended at the top level of every node's config
	// (e.g. a health section); "{data_dir}" in it becomes the node's
	// node.data_dir.
	Extra string
}

// Cluster is a running scenario: nodes, a client namespace and the
// recorders. Its methods fail the test on setup errors.
type Cluster struct {
	t       testing.TB
	bin     string
	dir     string
	Nodes   []*Node
	client  netnstest.Node
	keytab  string
	conf    string
	watches []*VIPWatch
}

// Node is one kdcha agent in its namespace.
type Node struct {
	c        *Cluster
	Name     string
	Addr     string
	Priority int
	ns       netnstest.Node
	dir      string
	cfg      string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	logs   *syncBuffer
	frozen bool
	past   string // logs of earlier runs
}

// Start builds the LAN (one namespace per node plus a client namespace),
// initialises node 1, joins the others through it, starts every agent,
// adds User and waits until node 1 holds the VIP and a kinit through it
// succeeds.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	for _, tool := range []string{"kinit", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scenario needs %s (krb5-user, iproute2)", tool)
		}
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	lan := netnstest.NewLAN(t, o.Nodes+1)
	c := &Cluster{t: t, bin: o.Bin, dir: t.TempDir(), client: lan[o.Nodes]}
	for i := range o.Nodes {
		// Priorities 150, 100, 50, ...: n1 is the preferred master.
		n := &Node{c: c, Name: fmt.Sprintf("n%d", i+1), Addr: lan[i].Addr.Addr().String(), Priority: max(150-50*i, 1), ns: lan[i]}
		n.dir = filepath.Join(c.dir, n.Name)
		n.cfg = filepath.Join(n.dir, "kdcha.yaml")
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`realm: %s
node: {name: %s, data_dir: %s/data, admin_socket: %s/admin.sock, fault_injection: true}
cluster: {listen: "%s:7946"}
kdc: {listen: ["0.0.0.0:88"]}
metrics: {listen: ""}
vrrp:
%s  instances:
    - name: VI_KDC
      interface: %s
      vrid: 51
      priority: %d
      virtual_ipaddresses: [%s/24]
%s%s`, Realm, n.Name, n.dir, n.dir, n.Addr, o.VRRP, interfaceName, n.Priority, VIP, o.Instance,
			strings.ReplaceAll(o.Extra, "{data_dir}", n.dir+"/data"))
		if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
		w, err := WatchVIP(n.ns.Name(), n.Name, netip.MustParseAddr(VIP))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		c.watches = append(c.watches, w)
	}
	t.Cleanup(c.stopAll)

	first := c.Nodes[0]
	first.mustRun("", "cluster", "init", "--config", first.cfg)
	first.Start()
	for _, n := range c.Nodes[1:] {
		token := strings.TrimSpace(first.mustRun("", "cluster", "token", "--config", first.cfg))
		n.mustRun(token+"\n", "cluster", "join", first.Addr+":7946", "--token", "-", "--config", n.cfg)
		n.Start()
	}
	first.mustRun(userPassword+"\n", "principal", "add", User, "--password-file", "-")
	c.keytab = filepath.Join(c.dir, "client.keytab")
	first.mustRun("", "keytab", "export", User, "-o", c.keytab)
	c.conf = filepath.Join(c.dir, "krb5.conf")
	// One KDC, the VIP; UDP first as MIT clients do by default.
	conf := fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n rdns = false\n[realms]\n %s = {\n  kdc = %s\n }\n", Realm, Realm, VIP)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		// A backup still judged unhealthy (its probe keytab arrives with
		// the first snapshot) is not the cluster a scenario starts from.
		if !n.WaitHealthy(30 * time.Second) {
			t.Fatalf("%s not healthy within 30s:\n%s", n.Name, n.Log())
		}
	}
	c.WaitHolder(first, 30*time.Second)
	c.waitKinit(30 * time.Second)
	return c
}

// VIPEvents returns every node's VIP additions and removals so far.
func (c *Cluster) VIPEvents() []VIPEvent {
	var ev []VIPEvent
	for _, w := range c.watches {
		ev = append(ev, w.Events()...)
	}
	return ev
}

// Measure runs fault against the cluster while cl records, observes for
// window after fault returns, and summarizes from the fault on.
func (c *Cluster) Measure(cl *Client, window time.Duration, fault func()) Summary {
	c.t.Helper()
	holder := c.WaitHolder(nil, 30*time.Second)
	// Start from a steady state: clients served by the current holder.
	if _, ok := cl.WaitSuccessAfter(time.Now(), 30*time.Second); !ok {
		c.t.Fatalf("no kinit through the VIP before the fault")
	}
	t0 := time.Now()
	fault()
	time.Sleep(window) // the observation window, not a wait for a condition
	end := time.Now()
	return Summarize(t0, end, holder.Name, cl.Attempts(), c.VIPEvents())
}

// Load runs `kdcha bench` (preauthenticated AS requests for User) from
// the client namespace against target's own address for d: at rate
// requests/s, or with rate 0 in a closed loop of concurrency requests,
// which keeps the KDC at its capacity. It returns bench's report.
func (c *Cluster) Load(ctx context.Context, target *Node, rate float64, concurrency int, d time.Duration) (string, error) {
	pw := filepath.Join(c.dir, "password")
	if err := os.WriteFile(pw, []byte(userPassword+"\n"), 0o600); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := c.client.Command(ctx, c.bin, "bench", "--kdc", target.Addr+":88", "--realm", Realm, "--client", User,
		"--password-file", pw, "--mode", "as-preauth", "--rate", fmt.Sprint(rate), "--concurrency", fmt.Sprint(concurrency),
		"--duration", d.String(), "--warmup", "0s", "--timeout", "1s")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kdcha bench against %s: %w", target.Name, err)
	}
	return string(out), nil
}

// Node returns the node named name ("n1"...).
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

// Kinit runs one `kinit -kt` of User through the VIP from the client
// namespace, killed after timeout, and reports whether it got a ticket.
func (c *Cluster) Kinit(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := c.client.Command(ctx, "kinit", "-kt", c.keytab, User+"@"+Realm)
	// A memory ccache: nothing to clean up, no file shared between loops.
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+c.conf, "KRB5CCNAME=MEMORY:scenario")
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kinit through the VIP: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// waitKinit waits until a kinit through the VIP succeeds.
func (c *Cluster) waitKinit(timeout time.Duration) {
	c.t.Helper()
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = c.Kinit(context.Background(), 2*time.Second); err == nil {
			return
		}
	}
	c.t.Fatalf("no kinit through the VIP within %v: %v", timeout, err)
}

// Holders returns the live nodes (agent running, not frozen) whose
// interface has the VIP.
func (c *Cluster) Holders() []*Node {
	var hs []*Node
	for _, n := range c.Nodes {
		if n.Running() && n.HasVIP() {
			hs = append(hs, n)
		}
	}
	return hs
}

// WaitHolder waits until want (any node if nil) is the only live holder
// of the VIP, and returns it.
func (c *Cluster) WaitHolder(want *Node, timeout time.Duration) *Node {
	c.t.Helper()
	var hs []*Node
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		hs = c.Holders()
		if len(hs) == 1 && (want == nil || hs[0] == want) {
			return hs[0]
		}
	}
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	c.t.Fatalf("VIP holders %v after %v, want only %v", names, timeout, want)
	return nil
}

// Logs returns every node's agent log, for failure messages.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "--- %s\n%s", n.Name, n.Log())
	}
	return b.String()
}

func (c *Cluster) stopAll() {
	for _, n := range c.Nodes {
		n.Stop()
	}
	if c.t.Failed() {
		var b strings.Builder
		ev := c.VIPEvents()
		slices.SortFunc(ev, func(a, b VIPEvent) int { return a.At.Compare(b.At) })
		for _, e := range ev {
			fmt.Fprintf(&b, "%s %s added=%v\n", e.At.Format(time.StampMicro), e.Node, e.Added)
		}
		c.t.Logf("VIP events:\n%sagent logs:\n%s", &b, c.Logs())
	}
}

// Log returns everything the node's agents logged.
func (n *Node) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.logs == nil {
		return n.past
	}
	return n.past + n.logs.String()
}

// WaitLog waits until the current run of the agent logged a line
// containing substr and returns that line.
func (n *Node) WaitLog(substr string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		n.mu.Lock()
		logs := n.logs
		n.mu.Unlock()
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, substr) {
				return line, true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// healthyLine is the agent's log line when every health check passes.
const healthyLine = `msg="health verdict" delta=0 fault=false pending=false`

// WaitHealthy waits until the current run of the agent has logged a
// verdict with every check passing.
func (n *Node) WaitHealthy(timeout time.Duration) bool {
	_, ok := n.WaitLog(healthyLine, timeout)
	return ok
}

// HasVIP reports whether the node's interface has the VIP (whether or
// not its agent runs).
func (n *Node) HasVIP() bool {
	out, err := exec.Command("ip", "-n", n.ns.Name(), "-4", "addr", "show", "dev", interfaceName).CombinedOutput()
	return err == nil && strings.Contains(string(out), " "+VIP+"/")
}

// Running reports whether the agent runs and is not frozen.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil && !n.frozen
}

// Start runs the agent in its namespace and waits until it logs
// "node ready".
func (n *Node) Start() {
	t := n.c.t
	t.Helper()
	cmd := n.ns.Command(context.Background(), n.c.bin, "agent", "--config", n.cfg)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	done := make(chan struct{})
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", n.Name, err)
	}
	go func() { cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done, n.frozen = cmd, done, false
	if n.logs != nil {
		// Keep earlier runs' lines for failure messages.
		n.past += n.logs.String() + "--- restart\n"
	}
	n.logs = logs
	n.mu.Unlock()
	for deadline := time.Now().Add(readyTimeout); time.Now().Before(deadline); {
		if strings.Contains(logs.String(), `msg="node ready"`) {
			return
		}
		select {
		case <-done:
			t.Fatalf("%s exited while starting:\n%s", n.Name, logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s not ready within %v:\n%s", n.Name, readyTimeout, logs)
}

// signal sends sig to the agent and, when wait, waits (bounded) for it to
// exit; a SIGTERM that does not end it in stopTimeout is a SIGKILL.
func (n *Node) signal(sig syscall.Signal, wait bool) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	if !wait {
		return
	}
	select {
	case <-done:
	case <-time.After(stopTimeout):
		n.c.t.Errorf("%s did not stop within %v of %v", n.Name, stopTimeout, sig)
		cmd.Process.Kill()
		<-done
	}
	n.mu.Lock()
	n.cmd = nil
	n.mu.Unlock()
}

// Stop ends the agent gracefully (SIGTERM: it hands the VIP over) and
// waits for it. A frozen agent is killed instead.
func (n *Node) Stop() {
	n.mu.Lock()
	frozen := n.frozen
	n.mu.Unlock()
	if frozen {
		n.signal(syscall.SIGKILL, true)
		return
	}
	n.signal(syscall.SIGTERM, true)
}

// Kill ends the agent with SIGKILL and waits for it, then removes its VIP
// with `kdcha vip release` as the shipped systemd unit's ExecStopPost=
// does (the agent had no chance to).
func (n *Node) Kill() {
	n.signal(syscall.SIGKILL, true)
	n.mustRun("", "vip", "release", "--config", n.cfg)
}

// Freeze makes the host dead: the agent stops (SIGSTOP: no advert, no
// answer, nothing cleaned up) and the link goes down. Revive undoes it.
func (n *Node) Freeze() {
	n.signal(syscall.SIGSTOP, false)
	n.mu.Lock()
	n.frozen = n.cmd != nil
	n.mu.Unlock()
	n.LinkDown()
}

// Revive brings a dead host back as a reboot would: the frozen agent is
// killed, the link comes up and the agent starts again.
func (n *Node) Revive() {
	n.signal(syscall.SIGKILL, true)
	n.mustRun("", "vip", "release", "--config", n.cfg) // a reboot starts without it
	n.LinkUp()
	n.Start()
}

// LinkDown takes the node's interface down (the agent keeps running).
func (n *Node) LinkDown() { n.ns.IP(n.c.t, "link", "set", interfaceName, "down") }

// LinkUp brings the node's interface back up.
func (n *Node) LinkUp() { n.ns.IP(n.c.t, "link", "set", interfaceName, "up") }

// Fault runs `kdcha debug fault ARGS...` against the node's admin socket
// (kdc-hang, kdc-slow D, vrrp-mute, clear).
func (n *Node) Fault(args ...string) {
	n.c.t.Helper()
	n.mustRun("", append([]string{"debug", "fault"}, args...)...)
}

// mustRun runs the kdcha CLI in the node's namespace (cluster join dials
// the first node) with the node's admin socket, feeding it stdin, and
// fails the test on error.
func (n *Node) mustRun(stdin string, args ...string) string {
	t := n.c.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := n.ns.Command(ctx, n.c.bin, args...)
	cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(n.dir, "admin.sock"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: kdcha %s: %v\n%s", n.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// syncBuffer is written by one goroutine while the test reads it.
type syncBuffer = syncbuf.Buffer
