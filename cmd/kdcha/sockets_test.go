package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kdcha/kdcha/internal/procsock"
)

// assertOnlyListeners checks that process pid accepts traffic only on the
// sockets allowed: anything else (the single node's Raft TCP transport once
// was one) is a writer nobody authenticates. The admin socket must be 0600.
func assertOnlyListeners(t *testing.T, pid int, adminSocket string, allowed ...procsock.Socket) {
	t.Helper()
	got, err := procsock.Listening(pid)
	if err != nil {
		t.Fatal(err)
	}
	allowed = append(allowed, procsock.Socket{Proto: "unix", Addr: adminSocket})
	seen := map[procsock.Socket]bool{}
	for _, s := range got {
		seen[s] = true
		ok := false
		for _, a := range allowed {
			ok = ok || a == s
		}
		if !ok {
			t.Errorf("unexpected listening socket %v (allowed: %v)", s, allowed)
		}
	}
	if !seen[procsock.Socket{Proto: "unix", Addr: adminSocket}] {
		t.Errorf("admin socket %s not listening: %v", adminSocket, got)
	}
	fi, err := os.Stat(adminSocket)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("admin socket mode %v, want 0600", perm)
	}
}

func kdcSockets(addr string) []procsock.Socket {
	return []procsock.Socket{{Proto: "udp", Addr: addr}, {Proto: "tcp", Addr: addr}}
}

func TestDevListensOnlyOnKDCAndAdminSocket(t *testing.T) {
	n := startDev(t, nil)
	// The KDC and admin API are up once the banner is printed; Raft has
	// been running since before that.
	assertOnlyListeners(t, n.pid, filepath.Join(n.dir, "admin.sock"), append(kdcSockets(n.addr), kdcSockets(n.kpasswd)...)...)
}

func TestAgentListensOnlyOnItsServices(t *testing.T) {
	t.Parallel()
	t.Run("single node", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		n := &clusterNode{name: "single", dir: dir, cfgPath: filepath.Join(dir, "kdcha.yaml")}
		cfg := fmt.Sprintf("realm: SOCK.TEST\nnode:\n  name: single\n  data_dir: %s/data\n  admin_socket: %s/admin.sock\nkdc:\n  listen: [\"127.0.0.1:0\"]\nmetrics:\n  listen: %s\n", dir, dir, metrics)
		if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		n.must(t, "", "cluster", "init", "--config", n.cfgPath)
		n.start(t)
		assertOnlyListeners(t, n.cmd.Process.Pid, filepath.Join(dir, "admin.sock"),
			append(append(kdcSockets(n.kdcAddr), kdcSockets(n.kpasswdAddr)...), procsock.Socket{Proto: "tcp", Addr: metrics})...)
	})
	t.Run("cluster node", func(t *testing.T) {
		t.Parallel()
		n := newClusterNode(t, t.TempDir(), "n1")
		n.must(t, "", "cluster", "init", "--config", n.cfgPath)
		n.start(t)
		assertOnlyListeners(t, n.cmd.Process.Pid, filepath.Join(n.dir, "admin.sock"),
			append(append(kdcSockets(n.kdcAddr), kdcSockets(n.kpasswdAddr)...), procsock.Socket{Proto: "tcp", Addr: n.clusterAddr})...)
	})
}
