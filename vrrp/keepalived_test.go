package vrrp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/netnstest"
	"github.com/kdcha/kdcha/internal/syncbuf"
)

// syncBuffer is written by one goroutine while the test reads it.
type syncBuffer = syncbuf.Buffer

// keepalived is a keepalived daemon (VRRP only) running in a namespace.
type keepalived struct {
	cmd     *exec.Cmd
	vrrpPID string // pid file of the VRRP child process
	out     *syncBuffer
	done    chan struct{}
}

// kaPeer, when set, makes keepalived use unicast from its own address to
// this peer instead of multicast.
func startKeepalived(t *testing.T, n netnstest.Node, version int, interval time.Duration, prio int, vip string, kaPeer netip.Addr) *keepalived {
	t.Helper()
	return startKeepalivedExtra(t, n, version, interval, prio, vip, kaPeer, "")
}

// startKeepalivedExtra is startKeepalived with extra lines in the
// vrrp_instance block.
func startKeepalivedExtra(t *testing.T, n netnstest.Node, version int, interval time.Duration, prio int, vip string, kaPeer netip.Addr, extra string) *keepalived {
	t.Helper()
	dir := t.TempDir()
	unicast := extra
	if kaPeer.IsValid() {
		unicast += fmt.Sprintf("  unicast_src_ip %v\n  unicast_peer {\n    %v\n  }\n", n.Addr.Addr(), kaPeer)
	}
	conf := fmt.Sprintf(`global_defs {
  router_id kdcha_interop
}
vrrp_instance VI_1 {
  state BACKUP
  interface %s
  virtual_router_id 51
  version %d
  priority %d
  advert_int %s
  virtual_ipaddress {
    %s
  }
%s}
`, n.Interface, version, prio, strconv.FormatFloat(interval.Seconds(), 'f', -1, 64), vip, unicast)
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &keepalived{vrrpPID: filepath.Join(dir, "vrrp.pid"), out: &syncBuffer{}, done: make(chan struct{})}
	// -R: a killed VRRP child stays dead (a crash, not a restart).
	k.cmd = n.Command(context.Background(), "keepalived", "-n", "-l", "-D", "-G", "-P", "-R", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", k.vrrpPID, "-c", filepath.Join(dir, "checkers.pid"))
	k.cmd.Stdout, k.cmd.Stderr = k.out, k.out
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start keepalived: %v", err)
	}
	go func() { k.cmd.Wait(); close(k.done) }()
	t.Cleanup(func() {
		k.stop(t)
		if t.Failed() || testing.Verbose() {
			t.Logf("keepalived output:\n%s", k.out.String())
		}
	})
	return k
}

// stop sends SIGTERM (keepalived resigns with priority 0) and waits.
func (k *keepalived) stop(t *testing.T) {
	t.Helper()
	select {
	case <-k.done:
		return
	default:
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(5 * time.Second):
		k.cmd.Process.Kill()
		<-k.done
		t.Error("keepalived did not stop on SIGTERM within 5s")
	}
}

// waitLog waits until keepalived's output contains s.
func (k *keepalived) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(k.out.String(), s) {
			return
		}
	}
	t.Fatalf("keepalived did not log %q within %v", s, timeout)
}

// crash kills the VRRP child with SIGKILL: no priority-0 advert is sent.
func (k *keepalived) crash(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(k.vrrpPID)
	if err != nil {
		t.Fatalf("keepalived VRRP pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("keepalived VRRP pid %q: %v", b, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill keepalived VRRP child %d: %v", pid, err)
	}
}

// waitVIP polls until n holds (or not) the VIP and returns how long it took.
func waitVIP(t *testing.T, n netnstest.Node, vipAddr netip.Addr, present bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if hasAddr(t, n, vipAddr) == present {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%v: VIP present=%v not reached within %v", n.Addr.Addr(), present, timeout)
	return 0
}

// TestKeepalivedInterop runs kdcha against a real keepalived 2.2.x peer,
// over VRRP v2 (1 s) and v3 (100 ms; multicast, unicast and IPv6): each
// side must accept the other's
// adverts (elect, preempt, stay backup), hand over on a graceful stop, and
// take over after a crash. Needs root and the Debian package keepalived.
func TestKeepalivedInterop(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed (apt-get install -y keepalived); skipping interop test")
	}
	for _, tt := range []struct {
		name     string
		version  int
		interval time.Duration
		vip      string
		unicast  bool
	}{
		{"v3", 3, 100 * time.Millisecond, "192.0.2.100/24", false},
		{"v3 unicast", 3, 100 * time.Millisecond, "192.0.2.100/24", true},
		{"v3 IPv6", 3, 100 * time.Millisecond, "2001:db8::100/64", false},
		{"v2", 2, time.Second, "192.0.2.100/24", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lan := netnstest.NewLAN(t, 2)
			kdchaNode, kaNode := lan[0], lan[1]
			vipAddr := netip.MustParsePrefix(tt.vip).Addr()
			mdi := masterDownInterval(Version(tt.version), 100, tt.interval)
			cfg := testInstanceConfig("kdcha", 150)
			cfg.Version, cfg.AdvertInterval = tt.version, tt.interval
			cfg.VirtualIPAddresses = []string{tt.vip}
			var kaPeer netip.Addr
			if tt.unicast {
				kaPeer = kdchaNode.Addr.Addr()
				cfg.UnicastPeers = []string{kaNode.Addr.Addr().String()}
			}

			// keepalived alone becomes master.
			ka := startKeepalived(t, kaNode, tt.version, tt.interval, 100, tt.vip, kaPeer)
			waitVIP(t, kaNode, vipAddr, true, mdi+5*time.Second)

			// kdcha at 150 preempts it: keepalived must accept our
			// adverts as higher priority and give the VIP up.
			k := startInstance(t, kdchaNode, cfg)
			waitState(t, k, StateMaster, 3*mdi)
			waitVIP(t, kaNode, vipAddr, false, 3*mdi)
			waitVIP(t, kdchaNode, vipAddr, true, time.Second)
			ka.waitLog(t, "with higher priority 150, ours 100", time.Second)

			// Graceful stop: keepalived takes over after its skew.
			k.stop(t)
			took := waitVIP(t, kaNode, vipAddr, true, 3*mdi)
			t.Logf("%s graceful handover kdcha -> keepalived: VIP on keepalived after %v", tt.name, took)
			ka.waitLog(t, "Backup received priority 0 advertisement", time.Second)

			// kdcha at 50 must stay backup behind keepalived's 100.
			cfg.Priority = 50
			k = startInstance(t, kdchaNode, cfg)
			time.Sleep(masterDownInterval(Version(tt.version), 50, tt.interval) + tt.interval)
			if st := k.inst.Status().State; st != StateBackup {
				t.Fatalf("kdcha at priority 50 is %v behind keepalived at 100, want BACKUP", st)
			}

			// keepalived crashes: kdcha takes over after its master down
			// interval.
			ka.crash(t)
			start := time.Now()
			waitState(t, k, StateMaster, 3*mdi)
			took = time.Since(start)
			t.Logf("%s crash of keepalived master -> kdcha MASTER after %v (master down interval %v after its last advert)",
				tt.name, took, masterDownInterval(Version(tt.version), 50, tt.interval))
			waitVIP(t, kdchaNode, vipAddr, true, time.Second)
			for _, bad := range []string{"checksum", "nvalid", "mismatch", "rror"} {
				if strings.Contains(ka.out.String(), bad) {
					t.Errorf("keepalived logged %q about our packets:\n%s", bad, ka.out.String())
				}
			}
		})
	}
}
