package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run `kdcha agent` processes and keepalived daemons (Debian's
// keepalived 2.2.x) as peers of one virtual router in network namespaces on
// the haLAN bridge, and check what a user observes: which namespace holds
// the VIP and whether kinit through the VIP works.

// kaNode is a keepalived daemon (VRRP only) in its own namespace on a
// haLAN. It has no KDC.
type kaNode struct {
	name, ns, addr, dir, conf string
	vrrpPID                   string
	cmd                       *exec.Cmd
	out                       *syncBuffer
	done                      chan struct{}
	// history keeps the output of earlier runs (before a crash).
	history string
}

// kaConfig is what differs between keepalived nodes of a test.
type kaConfig struct {
	version  int
	interval time.Duration
	priority int
	// unicastPeers, when set, makes keepalived use unicast from its own
	// address to these peers instead of multicast.
	unicastPeers []string
	// authPass, when set, adds authentication { auth_type PASS } (VRRPv2).
	authPass string
}

func requireKeepalived(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed (apt-get install -y keepalived; scripts/test.sh does)")
	}
}

// addKeepalived attaches a namespace to the LAN and writes a keepalived.conf
// for it with the haLAN's virtual router (VRID 51, VIP 192.0.2.10/24).
func (l *haLAN) addKeepalived(name, addr string, c kaConfig) *kaNode {
	l.t.Helper()
	ns := l.attach("kdchaK", addr)
	dir := filepath.Join(l.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		l.t.Fatal(err)
	}
	unicast := ""
	if len(c.unicastPeers) > 0 {
		unicast = fmt.Sprintf("  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", addr, strings.Join(c.unicastPeers, "\n    "))
	}
	if c.authPass != "" {
		unicast += fmt.Sprintf("  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", c.authPass)
	}
	conf := fmt.Sprintf(`global_defs {
  router_id %s
}
vrrp_instance VI_KDC {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version %d
  priority %d
  advert_int %s
  virtual_ipaddress {
    %s/24
  }
%s}
`, name, c.version, c.priority, strconv.FormatFloat(c.interval.Seconds(), 'f', -1, 64), testVIP, unicast)
	k := &kaNode{name: name, ns: ns, addr: addr, dir: dir, conf: filepath.Join(dir, "keepalived.conf"), vrrpPID: filepath.Join(dir, "vrrp.pid")}
	if err := os.WriteFile(k.conf, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return k
}

// start runs keepalived in the foreground in its namespace. -R: a killed
// VRRP child stays dead (a crash, not a restart).
func (k *kaNode) start(t *testing.T) {
	t.Helper()
	os.Remove(k.vrrpPID)
	k.out = &syncBuffer{}
	k.done = make(chan struct{})
	k.cmd = exec.Command("ip", "netns", "exec", k.ns, "keepalived", "-n", "-l", "-D", "-G", "-P", "-R",
		"-f", k.conf, "-p", filepath.Join(k.dir, "keepalived.pid"), "-r", k.vrrpPID, "-c", filepath.Join(k.dir, "checkers.pid"))
	k.cmd.Stdout, k.cmd.Stderr = k.out, k.out
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start keepalived: %v", err)
	}
	cmd, done := k.cmd, k.done
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		k.stop(t)
		if t.Failed() {
			t.Logf("%s (keepalived) output:\n%s%s", k.name, k.history, k.out)
		}
	})
}

// stop sends SIGTERM (keepalived resigns with a priority-0 advert and
// removes the VIP) and waits, killing it after 5 s.
func (k *kaNode) stop(t *testing.T) {
	if k.cmd == nil {
		return
	}
	select {
	case <-k.done:
	default:
		k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(5 * time.Second):
			k.cmd.Process.Kill()
			<-k.done
			t.Errorf("%s: keepalived did not stop on SIGTERM within 5s", k.name)
		}
	}
	k.history += k.out.String()
	k.cmd = nil
}

// crash simulates the death of keepalived's host: its VRRP child is killed
// with SIGKILL (no priority-0 advert, the VIP stays configured) and the
// interface goes down. The parent process is then stopped.
func (k *kaNode) crash(t *testing.T) {
	t.Helper()
	var pid int
	for range 100 { // the child writes its pid file shortly after start
		b, err := os.ReadFile(k.vrrpPID)
		if p, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && p > 0 {
			pid = p
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatalf("%s: no keepalived VRRP child pid in %s", k.name, k.vrrpPID)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill keepalived VRRP child %d: %v", pid, err)
	}
	ipCmd(t, "-n", k.ns, "link", "set", "eth0", "down")
	k.stop(t)
}

// revive reboots a crashed keepalived host: addresses configured before
// the crash are gone after a reboot, the link comes up, keepalived starts.
func (k *kaNode) revive(t *testing.T) {
	t.Helper()
	exec.Command("ip", "-n", k.ns, "addr", "del", testVIP+"/24", "dev", "eth0").Run()
	ipCmd(t, "-n", k.ns, "link", "set", "eth0", "up")
	k.start(t)
}

// logs is keepalived's output over all of its runs.
func (k *kaNode) logs() string {
	if k.out == nil {
		return k.history
	}
	return k.history + k.out.String()
}

// nsHoldsVIP reports whether a namespace's eth0 has the VIP.
func nsHoldsVIP(ns string) bool {
	out, _ := exec.Command("ip", "-n", ns, "-4", "addr", "show", "dev", "eth0").CombinedOutput()
	return strings.Contains(string(out), " "+testVIP+"/")
}

// nsMAC is the MAC address of a namespace's eth0.
func nsMAC(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "link", "show", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link in %s: %v\n%s", ns, err, out)
	}
	m := regexp.MustCompile(`link/ether (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no MAC in %s", out)
	}
	return m[1]
}

// vipPeer is a namespace taking part in the virtual router.
type vipPeer struct{ name, ns string }

// waitSoleHolder waits until want's namespace is the only one of live that
// has the VIP, and the client's ARP entry for the VIP points at it (it
// announced itself); it returns how long that took.
func (l *haLAN) waitSoleHolder(timeout time.Duration, want vipPeer, live ...vipPeer) time.Duration {
	l.t.Helper()
	start := time.Now()
	wantMAC := nsMAC(l.t, want.ns)
	for {
		var holders []string
		for _, p := range live {
			if nsHoldsVIP(p.ns) {
				holders = append(holders, p.name)
			}
		}
		neigh := l.clientNeighMAC()
		if len(holders) == 1 && holders[0] == want.name && (neigh == "" || neigh == wantMAC) {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			l.t.Fatalf("after %v: VIP held by %v (of %v), client ARP entry %q; want only %s (MAC %s)",
				timeout, holders, live, neigh, want.name, wantMAC)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// blockMulticastVRRP drops VRRP multicast (224.0.0.18) on the LAN bridge and
// returns a function that reports how many such packets were dropped.
func (l *haLAN) blockMulticastVRRP() func() int {
	l.t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		l.t.Skip("nft (nftables) not installed; needed to cut multicast off the LAN (scripts/test.sh installs it)")
	}
	cmd := exec.Command("ip", "netns", "exec", l.lan, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader("table bridge nomcast {\n chain vrrp {\n  type filter hook forward priority 0;\n  ip daddr 224.0.0.18 counter drop\n }\n}\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft: %v\n%s", err, out)
	}
	return func() int {
		out, err := exec.Command("ip", "netns", "exec", l.lan, "nft", "list", "table", "bridge", "nomcast").CombinedOutput()
		if err != nil {
			l.t.Fatalf("nft list: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`counter packets (\d+)`).FindStringSubmatch(string(out))
		if m == nil {
			l.t.Fatalf("no counter in\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
}

// vrrpExtra is the agent config for a version, an interval and unicast
// peers (none: multicast).
func vrrpExtra(version int, interval time.Duration, src string, peers ...string) string {
	s := fmt.Sprintf("      version: %d\n      advert_interval: %v\n", version, interval)
	if len(peers) > 0 {
		s += fmt.Sprintf("      unicast_src_ip: %s\n      unicast_peers: [%s]\n", src, strings.Join(peers, ", "))
	}
	return s
}

// masterDown is keepalived's master down interval: 3 adverts plus the skew
// ((256-prio)/256 s for v2, (256-prio)/256 x interval for v3).
func masterDown(version, prio int, interval time.Duration) time.Duration {
	skew := time.Duration(256-prio) * time.Second / 256
	if version == 3 {
		skew = time.Duration(256-prio) * interval / 256
	}
	return 3*interval + skew
}

// TestAgentKeepalivedInterop proves that a `kdcha agent` process and a real
// keepalived daemon form one virtual router, over VRRP v2 (1 s) and v3
// (100 ms), multicast and unicast, whichever has the higher priority: the
// higher one holds the VIP (and only it, with the client's ARP entry on
// it); when it crashes (SIGKILL + link down) the other takes the VIP; when
// it comes back it preempts. Whenever the kdcha node holds the VIP, MIT
// kinit from the client namespace through the VIP succeeds. keepalived
// must log no complaint about kdcha's packets. Subtests run in parallel
// (with the other agent interop tests), each on its own LAN.
func TestAgentKeepalivedInterop(t *testing.T) {
	requireKeepalived(t)
	t.Parallel()
	for _, tt := range []struct {
		name        string
		version     int
		interval    time.Duration
		kdchaHigher bool
		unicast     bool
	}{
		{name: "v2 1s kdcha higher", version: 2, interval: time.Second, kdchaHigher: true},
		{name: "v2 1s keepalived higher", version: 2, interval: time.Second},
		{name: "v3 100ms kdcha higher", version: 3, interval: 100 * time.Millisecond, kdchaHigher: true},
		{name: "v3 100ms keepalived higher", version: 3, interval: 100 * time.Millisecond},
		{name: "v3 100ms unicast kdcha higher", version: 3, interval: 100 * time.Millisecond, kdchaHigher: true, unicast: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newHALAN(t)
			var dropped func() int
			if tt.unicast {
				dropped = l.blockMulticastVRRP()
			}
			kdchaPrio, kaPrio := 100, 150
			if tt.kdchaHigher {
				kdchaPrio, kaPrio = 150, 100
			}
			const kdchaAddr, kaAddr = "192.0.2.1", "192.0.2.2"
			var kdchaPeers, kaPeers []string
			if tt.unicast {
				kdchaPeers, kaPeers = []string{kaAddr}, []string{kdchaAddr}
			}
			n := l.addNode("kdcha", kdchaAddr, kdchaPrio, vrrpExtra(tt.version, tt.interval, kdchaAddr, kdchaPeers...))
			ka := l.addKeepalived("keepalived", kaAddr, kaConfig{version: tt.version, interval: tt.interval, priority: kaPrio, unicastPeers: kaPeers})
			kdchaPeer, kaPeer := vipPeer{"kdcha", n.ns}, vipPeer{"keepalived", ka.ns}
			// Waits: the lower priority's master down interval, plus
			// startup, plus an election, with room for a loaded box.
			wait := 2*masterDown(tt.version, 100, tt.interval) + 3*time.Second

			n.start(t)
			ka.start(t)
			l.addUser(n)

			high, low := kdchaPeer, kaPeer
			if !tt.kdchaHigher {
				high, low = kaPeer, kdchaPeer
			}
			kinitIfKDCHA := func(holder vipPeer, when string) {
				t.Helper()
				if holder != kdchaPeer {
					return
				}
				if err := l.clientKinit(); err != nil {
					t.Fatalf("%s: %v", when, err)
				}
			}

			took := l.waitSoleHolder(wait, high, high, low)
			t.Logf("election: %s holds the VIP after %v", high.name, took.Round(time.Millisecond))
			kinitIfKDCHA(high, "kinit through the VIP on the elected master")

			// The higher priority's host dies: the other takes over.
			if high == kdchaPeer {
				n.crash(t)
			} else {
				ka.crash(t)
			}
			took = l.waitSoleHolder(wait, low, low)
			t.Logf("crash of %s: %s holds the VIP after %v (master down interval %v)", high.name, low.name, took.Round(time.Millisecond),
				masterDown(tt.version, min(kdchaPrio, kaPrio), tt.interval))
			kinitIfKDCHA(low, "kinit through the VIP after the takeover")

			// It comes back and preempts.
			if high == kdchaPeer {
				n.revive(t)
			} else {
				ka.revive(t)
			}
			took = l.waitSoleHolder(wait, high, high, low)
			t.Logf("revival of %s: holds the VIP again after %v", high.name, took.Round(time.Millisecond))
			kinitIfKDCHA(high, "kinit through the VIP after preemption")

			logs := ka.logs()
			for _, want := range []string{"Entering MASTER STATE", "Entering BACKUP STATE"} {
				if !strings.Contains(logs, want) {
					t.Errorf("keepalived never logged %q", want)
				}
			}
			// keepalived decoded kdcha's adverts: it names their source and
			// priority (as a master hearing the returning higher kdcha, or
			// hearing the lower kdcha's last advert or a backup discarding it).
			heard := regexp.MustCompile(fmt.Sprintf(`advert from %s with higher priority %d, ours %d`,
				regexp.QuoteMeta(kdchaAddr), kdchaPrio, kaPrio))
			if !tt.kdchaHigher {
				heard = regexp.MustCompile(fmt.Sprintf(`lower priority \(%d\) advert from %s|advert from %s with lower priority %d, ours %d`,
					kdchaPrio, regexp.QuoteMeta(kdchaAddr), regexp.QuoteMeta(kdchaAddr), kdchaPrio, kaPrio))
			}
			if !heard.MatchString(logs) {
				t.Errorf("keepalived never logged an advert from kdcha (%s, priority %d) matching %q", kdchaAddr, kdchaPrio, heard)
			}
			for _, bad := range []string{"checksum", "nvalid", "mismatch", "rror"} {
				if strings.Contains(logs, bad) {
					t.Errorf("keepalived logged %q about the virtual router:\n%s", bad, logs)
				}
			}
			if dropped != nil {
				if d := dropped(); d != 0 {
					t.Errorf("%d multicast VRRP packets on the LAN in unicast mode, want 0", d)
				}
			}
		})
	}
}

// TestAgentUnicastFailover proves that two `kdcha agent` processes in
// unicast mode (unicast_src_ip + unicast_peers) fail over without any
// multicast on the LAN (224.0.0.18 is dropped on the bridge and must never
// even be sent): the higher priority holds the VIP and serves kinit, a crash
// moves the VIP to the other (kinit still works), and a restart preempts
// back.
func TestAgentUnicastFailover(t *testing.T) {
	t.Parallel()
	l := newHALAN(t)
	dropped := l.blockMulticastVRRP()
	const interval = 100 * time.Millisecond
	n1 := l.addNode("n1", "192.0.2.1", 150, vrrpExtra(3, interval, "192.0.2.1", "192.0.2.2"))
	n2 := l.addNode("n2", "192.0.2.2", 100, vrrpExtra(3, interval, "192.0.2.2", "192.0.2.1"))
	p1, p2 := vipPeer{"n1", n1.ns}, vipPeer{"n2", n2.ns}
	n1.start(t)
	n2.start(t)
	l.addUser(n1)
	l.addUser(n2)

	l.waitSoleHolder(5*time.Second, p1, p1, p2)
	if err := l.clientKinit(); err != nil {
		t.Fatal(err)
	}

	n1.crash(t)
	took := l.waitSoleHolder(3*time.Second, p2, p2)
	t.Logf("unicast: n2 holds the VIP %v after n1's crash (master down interval %v)", took.Round(time.Millisecond), masterDown(3, 100, interval))
	if err := l.clientKinit(); err != nil {
		t.Fatalf("after failover: %v", err)
	}

	n1.revive(t)
	l.waitSoleHolder(5*time.Second, p1, p1, p2)
	if err := l.clientKinit(); err != nil {
		t.Fatalf("after preemption: %v", err)
	}
	if d := dropped(); d != 0 {
		t.Errorf("%d multicast VRRP packets on the LAN in unicast mode, want 0", d)
	}
}
