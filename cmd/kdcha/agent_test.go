package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/node"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestAgentFromConfig runs the production path: cluster init, then agent
// from one config file; MIT kinit against it; its metrics count the logins.
func TestAgentFromConfig(t *testing.T) {
	requireMIT(t)
	dir := t.TempDir()
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfgPath := filepath.Join(dir, "kdcha.yaml")
	cfg := fmt.Sprintf(`realm: AGENT.TEST
node:
  name: n1
  data_dir: %s/data
  admin_socket: %s/admin.sock
  fault_injection: true
kdc:
  listen: ["127.0.0.1:0"]
  lockout:
    max_failures: 3
    window: 1m
metrics:
  listen: %s
`, dir, dir, metricsAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kdchaBin, "check-config", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("check-config: %v\n%s", err, out)
	}
	// The agent refuses to start on an uninitialised data dir.
	if out, err := exec.Command(kdchaBin, "agent", "--config", cfgPath).CombinedOutput(); err == nil || !strings.Contains(string(out), "cluster init") {
		t.Fatalf("agent before init: err=%v\n%s", err, out)
	}
	if out, err := exec.Command(kdchaBin, "cluster", "init", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("cluster init: %v\n%s", err, out)
	}

	// The agent runs as under systemd with WatchdogSec=1s: it must ping
	// WATCHDOG=1 (every 0.5 s) while its loops beat.
	notifySocket := listenNotify(t, filepath.Join(dir, "notify.sock"))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, kdchaBin, "agent", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifySocket.path, "WATCHDOG_USEC=1000000")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	logs := agentLogs(t, "agent")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs)
		}
	})
	ready := regexp.MustCompile(`msg="node ready".* kdc=(\S+)`)
	var kdcAddr, kpasswdAddr string
	for i := 0; i < 300 && kdcAddr == ""; i++ {
		if m := ready.FindStringSubmatch(logs.String()); m != nil {
			kdcAddr = m[1]
			kpasswdAddr = readyKpasswd.FindStringSubmatch(logs.String())[1]
		}
		time.Sleep(100 * time.Millisecond)
	}
	if kdcAddr == "" {
		t.Fatalf("agent not ready:\n%s", logs)
	}
	krb5conf := filepath.Join(dir, "krb5.conf")
	os.WriteFile(krb5conf, []byte(node.DevKrb5Conf("AGENT.TEST", kdcAddr, kpasswdAddr)), 0o644)
	n := &devNode{t: t, dir: dir, logs: logs, env: append(os.Environ(),
		"KRB5_CONFIG="+krb5conf,
		"KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"),
		"KDCHA_ADMIN_SOCKET="+filepath.Join(dir, "admin.sock"),
	)}
	n.must("Agent-pw-2026!\n", kdchaBin, "principal", "add", "bob", "--password-file", "-")
	n.must("Agent-pw-2026!\n", "kinit", "bob@AGENT.TEST")

	// Lockout: three wrong passwords lock bob (node-local count, replicated
	// lock); the right password is then refused until an admin unlocks.
	for range 3 {
		if out, err := n.run("wrong-password\n", "kinit", "bob@AGENT.TEST"); err == nil {
			t.Fatalf("kinit with a wrong password succeeded:\n%s", out)
		}
	}
	locked := false
	for i := 0; i < 50 && !locked; i++ {
		locked = strings.Contains(n.kdcha("principal", "get", "bob"), "Locked:              true")
		time.Sleep(100 * time.Millisecond)
	}
	if !locked {
		t.Fatalf("bob not locked after 3 failures:\n%s", n.kdcha("principal", "get", "bob"))
	}
	if out, err := n.run("Agent-pw-2026!\n", "kinit", "bob@AGENT.TEST"); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("kinit of a locked principal: err=%v\n%s", err, out)
	}
	n.kdcha("principal", "modify", "bob", "--unlock")
	n.must("Agent-pw-2026!\n", "kinit", "bob@AGENT.TEST")

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The agent's own health probe (principal kdcha/health, created by
	// cluster init) authenticates against the node's KDC.
	if !regexp.MustCompile(`kdcha_health_run_duration_seconds_count\{check="kinit",result="ok"\} [1-9]`).Match(body) {
		t.Errorf("no successful health probe in the metrics:\n%s", grepLines(string(body), "kdcha_health"))
	}
	for _, want := range []string{
		`kdcha_kdc_requests_total{exchange="AS_REQ",result="ISSUE"}`,
		`kdcha_kdc_requests_total{exchange="AS_REQ",result="KDC_ERR_PREAUTH_FAILED"} 3`,
		`kdcha_kdc_requests_total{exchange="AS_REQ",result="KDC_ERR_CLIENT_REVOKED"}`,
		`kdcha_build_info{go_version="go`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Readiness on the metrics listener: the node is running (no VRRP
	// instance to wait for), so /readyz and /healthz answer 200.
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "first_health_verdict") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
		// Each health check's loop counts for liveness.
		for _, loop := range []string{`"name":"health:kinit","alive":true`, `"name":"health:kdc-progress","alive":true`} {
			if !strings.Contains(string(b), loop) {
				t.Errorf("%s does not list the loop %s: %s", path, loop, b)
			}
		}
	}
	notifySocket.wait(t, "READY=1")
	notifySocket.wait(t, "WATCHDOG=1")

	// Fault injection (node.fault_injection): a hung KDC is seen from
	// inside by the kdc-progress check, and clearing the fault restores it.
	progressUp := func(want string) {
		t.Helper()
		line := `kdcha_health_check_up{check="kdc-progress"} ` + want
		for i := 0; i < 100; i++ {
			resp, err := http.Get("http://" + metricsAddr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), line) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("metrics never showed %s", line)
	}
	progressUp("1")
	n.kdcha("debug", "fault", "kdc-hang")
	progressUp("0")
	// A hung KDC costs the VIP through the checks, not a restart by
	// systemd: the watchdog keeps being pinged.
	notifySocket.reset()
	notifySocket.wait(t, "WATCHDOG=1")
	n.kdcha("debug", "fault", "clear")
	progressUp("1")
	n.must("Agent-pw-2026!\n", "kinit", "bob@AGENT.TEST")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// notifyListener is a systemd notification socket ($NOTIFY_SOCKET) that
// records every datagram it receives.
type notifyListener struct {
	path string
	got  syncBuffer
}

func listenNotify(t *testing.T, path string) *notifyListener {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	l := &notifyListener{path: path}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed at cleanup
			}
			l.got.Write(append(buf[:n:n], '\n'))
		}
	}()
	return l
}

// reset forgets what was received so far.
func (l *notifyListener) reset() {
	l.got.Reset()
}

// wait waits (bounded) until a received datagram has the line want.
func (l *notifyListener) wait(t *testing.T, want string) {
	t.Helper()
	for start := time.Now(); !slices.Contains(strings.Split(l.got.String(), "\n"), want); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no %s on the notify socket after 10s; got:\n%s", want, l.got.String())
		}
	}
}
