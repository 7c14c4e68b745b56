package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/node"
)

// haLAN is a test network: a bridge in its own namespace, KDC node
// namespaces and a client namespace, each with an eth0 on the bridge, in
// 192.0.2.0/24. The VIP is 192.0.2.10.
type haLAN struct {
	t      *testing.T
	lan    string
	client string
	dir    string
	nodes  map[string]*haNode
}

const testVIP = "192.0.2.10"

func newHALAN(t *testing.T) *haLAN {
	requireMIT(t)
	requireNetns(t)
	l := &haLAN{t: t, dir: t.TempDir(), nodes: map[string]*haNode{}}
	l.lan = newNamespace(t, "kdchaL")
	ipCmd(t, "-n", l.lan, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", l.lan, "link", "set", "br0", "up")
	l.client = l.attach("kdchaC", "192.0.2.100")
	return l
}

// attach creates a namespace with eth0 (address addr/24) on the bridge.
func (l *haLAN) attach(prefix, addr string) string {
	ns := newNamespace(l.t, prefix)
	port := "p" + ns[len(ns)-6:]
	ipCmd(l.t, "-n", l.lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
	ipCmd(l.t, "-n", l.lan, "link", "set", port, "master", "br0", "up")
	ipCmd(l.t, "-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
	ipCmd(l.t, "-n", ns, "link", "set", "eth0", "up")
	return ns
}

// haNode is one kdcha agent in its own namespace.
type haNode struct {
	name, ns, addr, cfgPath string
	cmd                     *exec.Cmd
	logs                    *syncBuffer
	cancel                  context.CancelFunc
	done                    chan struct{}
}

// addNode creates a node namespace, a config for it and its realm (each
// node has its own database until clustering joins them; the test user has
// the same password, hence the same keys, on every node).
func (l *haLAN) addNode(name, addr string, priority int, vrrpExtra string) *haNode {
	return l.addNodeInstances(name, addr, fmt.Sprintf(`    - name: VI_KDC
      interface: eth0
      vrid: 51
      priority: %d
      virtual_ipaddresses: [%s/24]
%s`, priority, testVIP, vrrpExtra))
}

// addNodeInstances is addNode with the node's vrrp.instances list given
// as YAML (indented as list items under "instances:").
func (l *haLAN) addNodeInstances(name, addr, instances string) *haNode {
	ns := l.attach("kdchaN", addr)
	dir := filepath.Join(l.dir, name)
	os.MkdirAll(dir, 0o700)
	n := &haNode{name: name, ns: ns, addr: addr, cfgPath: filepath.Join(dir, "kdcha.yaml")}
	cfg := fmt.Sprintf(`realm: HA.TEST
node:
  name: %s
  data_dir: %s/data
  admin_socket: %s/admin.sock
kdc:
  listen: ["0.0.0.0:88"]
metrics:
  listen: ""
vrrp:
  instances:
%s`, name, dir, dir, instances)
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		l.t.Fatal(err)
	}
	if out, err := exec.Command(kdchaBin, "cluster", "init", "--config", n.cfgPath).CombinedOutput(); err != nil {
		l.t.Fatalf("cluster init %s: %v\n%s", name, err, out)
	}
	l.nodes[name] = n
	return n
}

// start runs the node's agent inside its namespace.
func (n *haNode) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n.cmd = exec.CommandContext(ctx, "ip", "netns", "exec", n.ns, kdchaBin, "agent", "--config", n.cfgPath)
	n.cmd.Cancel = func() error { return n.cmd.Process.Signal(syscall.SIGTERM) }
	n.cmd.WaitDelay = 10 * time.Second
	n.logs = agentLogs(t, n.name)
	n.cmd.Stderr = n.logs
	n.cancel = cancel
	n.done = make(chan struct{})
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("%s logs:\n%s", n.name, n.logs)
		}
	})
	for range 100 {
		if strings.Contains(n.logs.String(), `msg="node ready"`) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready:\n%s", n.name, n.logs)
}

// stop ends the agent gracefully (SIGTERM) and waits for it.
func (n *haNode) stop() {
	if n.cmd == nil {
		return
	}
	n.cancel()
	<-n.done
}

// crash simulates the death of the node's host: the agent is killed with
// SIGKILL and the interface goes down (a dead host answers no ARP; a
// killed process alone would leave the VIP configured until the agent's
// restart removes it).
func (n *haNode) crash(t *testing.T) {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
	n.cmd = nil
	ipCmd(t, "-n", n.ns, "link", "set", "eth0", "down")
}

// revive brings a crashed node's host back (the VIP it held is still
// configured: the agent must remove it at startup) and starts the agent.
func (n *haNode) revive(t *testing.T) {
	ipCmd(t, "-n", n.ns, "link", "set", "eth0", "up")
	n.start(t)
}

// holds reports whether the node's namespace has the VIP.
func (n *haNode) holds() bool { return n.holdsAddr(testVIP) }

// holdsAddr reports whether the node's namespace has the address vip.
func (n *haNode) holdsAddr(vip string) bool {
	out, _ := exec.Command("ip", "-n", n.ns, "-4", "addr", "show", "dev", "eth0").CombinedOutput()
	return strings.Contains(string(out), " "+vip+"/")
}

func (n *haNode) mac(t *testing.T) string {
	out, err := exec.Command("ip", "-n", n.ns, "link", "show", "eth0").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`link/ether (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no MAC in %s", out)
	}
	return m[1]
}

// holder waits until exactly one node holds the VIP and returns it.
func (l *haLAN) holder(timeout time.Duration, want *haNode) *haNode {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var holders []*haNode
		for _, n := range l.nodes {
			if n.cmd != nil && n.holds() {
				holders = append(holders, n)
			}
		}
		if len(holders) == 1 && (want == nil || holders[0] == want) {
			return holders[0]
		}
		if time.Now().After(deadline) {
			var names []string
			for _, h := range holders {
				names = append(names, h.name)
			}
			l.t.Fatalf("VIP holders %v after %s, want exactly %v", names, timeout, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clientNeighMAC is the MAC the client namespace's ARP cache has for the VIP.
func (l *haLAN) clientNeighMAC() string {
	out, _ := exec.Command("ip", "-n", l.client, "neigh", "show", testVIP).CombinedOutput()
	m := regexp.MustCompile(`lladdr (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		return ""
	}
	return m[1]
}

// clientKinit authenticates from the client namespace through the VIP as a
// user that exists, with the same password, on every node.
func (l *haLAN) clientKinit() error { return l.clientKinitVia(testVIP) }

// clientKinitVia is clientKinit through the KDC address vip.
func (l *haLAN) clientKinitVia(vip string) error {
	conf := filepath.Join(l.dir, "krb5-"+vip+".conf")
	if _, err := os.Stat(conf); err != nil {
		os.WriteFile(conf, []byte(node.DevKrb5Conf("HA.TEST", vip+":88", vip+":464")), 0o644)
	}
	cmd := exec.Command("ip", "netns", "exec", l.client, "kinit", "hauser@HA.TEST")
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(l.dir, "ccache-"+vip))
	cmd.Stdin = strings.NewReader("Kdc-failover-2026!\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kinit via %s: %v: %s", vip, err, out)
	}
	return nil
}

func (l *haLAN) addUser(n *haNode) {
	cmd := exec.Command(kdchaBin, "principal", "add", "hauser", "--password-file", "-")
	cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(l.dir, n.name, "admin.sock"))
	cmd.Stdin = strings.NewReader("Kdc-failover-2026!\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("add user on %s: %v\n%s", n.name, err, out)
	}
}

// startPair runs two agents in one virtual router (v3, 100 ms adverts), n1
// at priority 150 and n2 at 100 with n2Extra appended to its config, each
// with the test user, and checks n1 holds the VIP and serves the client.
func (l *haLAN) startPair(n2Extra string) (n1, n2 *haNode) {
	l.t.Helper()
	const v3 = "      version: 3\n      advert_interval: 100ms\n"
	n1 = l.addNode("n1", "192.0.2.1", 150, v3)
	n2 = l.addNode("n2", "192.0.2.2", 100, v3+n2Extra)
	n1.start(l.t)
	n2.start(l.t)
	l.addUser(n1)
	l.addUser(n2)
	l.holder(5*time.Second, n1)
	if err := l.clientKinit(); err != nil {
		l.t.Fatal(err)
	}
	return n1, n2
}

// TestVRRPFailoverBetweenAgents runs two kdcha agents in one virtual router:
// the higher priority holds the VIP, a crash moves it and the client's ARP
// cache follows (gratuitous ARP), a graceful stop hands over within the
// skew time, and a restart preempts back.
func TestVRRPFailoverBetweenAgents(t *testing.T) {
	l := newHALAN(t)
	n1, n2 := l.startPair("")
	if got := l.clientNeighMAC(); got != n1.mac(t) {
		t.Fatalf("client ARP entry for the VIP is %q, want n1's %s", got, n1.mac(t))
	}

	// Crash of the master: the backup takes over after the master down
	// interval and announces itself; the client follows without flushing.
	n1.crash(t)
	l.holder(3*time.Second, n2)
	deadline := time.Now().Add(3 * time.Second)
	for l.clientNeighMAC() != n2.mac(t) {
		if time.Now().After(deadline) {
			t.Fatalf("client ARP entry still %s after takeover, want n2's %s", l.clientNeighMAC(), n2.mac(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := l.clientKinit(); err != nil {
		t.Fatalf("after failover: %v", err)
	}
	if !strings.Contains(n2.logs.String(), "MASTER") {
		t.Fatalf("n2 never logged MASTER")
	}

	// The higher priority comes back and preempts.
	n1.revive(t)
	l.holder(5*time.Second, n1)

	// Graceful stop: priority 0 advert, the backup takes over after its
	// skew time only (here (256-100)/256 x 100ms = 61ms), far below the
	// master down interval (361ms).
	// The stopwatch stops when n2 alone holds the VIP, not when n1 has
	// exited: closing its database after the handover is no outage (and is
	// slower in a race-built agent).
	start := time.Now()
	n1.cancel() // SIGTERM
	l.holder(2*time.Second, n2)
	took := time.Since(start)
	n1.stop()
	if took > time.Second {
		t.Fatalf("graceful handover took %s", took)
	}
	if n1.holds() {
		t.Fatal("stopped node kept the VIP")
	}
}

// TestVRRPNoPreempt: with nopreempt a returning higher-priority node stays
// backup.
func TestVRRPNoPreempt(t *testing.T) {
	l := newHALAN(t)
	n1 := l.addNode("n1", "192.0.2.1", 150, "      version: 3\n      advert_interval: 100ms\n      nopreempt: true\n")
	n2 := l.addNode("n2", "192.0.2.2", 100, "      version: 3\n      advert_interval: 100ms\n      nopreempt: true\n")
	n2.start(t)
	l.holder(5*time.Second, n2)
	n1.start(t)
	time.Sleep(time.Second) // ten advert intervals: ample time to (wrongly) preempt
	l.holder(time.Second, n2)
}

// TestHungKDCLosesVIP: the master's KDC stops answering (its port is
// black-holed while the agent and VRRP keep running: alive but hung). The
// health probe fails, the master's priority drops, the backup preempts at
// once and clients get tickets through the VIP again. The new master's
// notify script sees the transition with keepalived's arguments.
func TestHungKDCLosesVIP(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft (nftables) not installed; scripts/test.sh installs it")
	}
	l := newHALAN(t)
	notified := filepath.Join(l.dir, "notified")
	script := filepath.Join(l.dir, "notify.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+notified+"\n"), 0o755)
	n1, n2 := l.startPair(fmt.Sprintf("notify:\n  scripts:\n    VI_KDC:\n      notify: %s\n", script))

	hung := time.Now()
	cmd := exec.Command("ip", "netns", "exec", n1.ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader("table inet hang {\n chain in {\n  type filter hook input priority 0;\n  udp dport 88 drop\n  tcp dport 88 drop\n }\n}\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	l.holder(5*time.Second, n2)
	t.Logf("hung KDC lost the VIP %v after its port was black-holed (health defaults: interval 500ms, timeout 500ms, fall 2)", time.Since(hung).Round(10*time.Millisecond))
	if err := l.clientKinit(); err != nil {
		t.Fatalf("through the VIP after the hung master lost it: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(notified)
		if strings.Contains(string(b), "INSTANCE VI_KDC MASTER 100") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notify script calls:\n%s\nwant INSTANCE VI_KDC MASTER 100", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(n1.logs.String(), "kinit failed") {
		t.Errorf("n1 did not log why its health dropped")
	}
	// `kdcha status` tells the operator why at a glance.
	status := func(n *haNode) string {
		cmd := exec.Command(kdchaBin, "status")
		cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(l.dir, n.name, "admin.sock"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kdcha status on %s: %v\n%s", n.name, err, out)
		}
		return string(out)
	}
	if out := status(n1); !strings.Contains(out, "VI_KDC  BACKUP") || !strings.Contains(out, "priority -253: kinit failed") {
		t.Errorf("kdcha status on the hung node:\n%s", out)
	}
	if out := status(n2); !strings.Contains(out, "VI_KDC  MASTER") || !strings.Contains(out, "healthy") {
		t.Errorf("kdcha status on the new master:\n%s", out)
	}
}
