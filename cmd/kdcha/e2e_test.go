package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/syncbuf"
)

// These tests run the real kdcha binary (`kdcha dev`) and drive it with the
// MIT client tools from Debian's krb5-user, as a user would.

// kdchaBin is the kdcha binary most tests start. raceAgentBin is the one
// the Raft cluster tests start as agents: built with -race when the tests
// are, so the agent's own goroutines (Raft, membership, forwarding, KDC
// workers, VRRP, health) are checked too. Only those tests get it because a
// race-built agent makes an end-to-end test about 3x slower, and every test
// with a race agent would take the package past CI's timeout.
var kdchaBin, raceAgentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kdcha-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := func(out string, extra ...string) {
		args := append(append([]string{"build", "-o", out}, extra...), ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build kdcha: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	kdchaBin = filepath.Join(dir, "kdcha")
	build(kdchaBin)
	raceAgentBin = kdchaBin
	if raceBuild {
		raceAgentBin = filepath.Join(dir, "kdcha-race")
		build(raceAgentBin, "-race")
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireMIT skips when the MIT client tools are missing; scripts/test.sh
// installs krb5-user so CI always runs these tests.
func requireMIT(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"kinit", "klist", "kvno"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install krb5-user; scripts/test.sh does)", tool)
		}
	}
}

// devNode is a running `kdcha dev`.
type devNode struct {
	t        *testing.T
	dir      string
	addr     string // KDC host:port
	kpasswd  string // kpasswd host:port
	password string // the user's password
	env      []string
	logs     *syncBuffer
	pid      int // of the kdcha dev process
}

// syncBuffer is written by one goroutine while the test reads it.
type syncBuffer = syncbuf.Buffer

// raceReport is what the race detector writes to stderr for each race.
const raceReport = "WARNING: DATA RACE"

// agentLogs returns the buffer for a kdcha process's stderr. It fails the
// test if the process reported a data race, checked at cleanup: create it
// before registering the cleanup that stops the process, so that it runs
// after the process has exited and written all it will.
func agentLogs(t *testing.T, name string) *syncBuffer {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if out := logs.String(); strings.Contains(out, raceReport) {
			t.Errorf("%s reported a data race:\n%s", name, out)
		}
	})
	return logs
}

var kdcLine = regexp.MustCompile(`KDC on (\S+) \(udp\+tcp\), kpasswd on (\S+),`)
var passwordLine = regexp.MustCompile(`# password: (\S+)`)

// startDev runs `kdcha dev` in a fresh data dir with the given extra args
// (prefix runs it through another command, e.g. `ip netns exec NS`).
func startDev(t *testing.T, prefix []string, args ...string) *devNode {
	t.Helper()
	dir := t.TempDir()
	argv := append(append(append([]string{}, prefix...), kdchaBin, "dev", "--data-dir", dir), args...)
	if !containsFlag(args, "--kdc-addr") {
		argv = append(argv, "--kdc-addr", "127.0.0.1:0")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	logs := agentLogs(t, "kdcha dev")
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("kdcha dev logs:\n%s", logs.String())
		}
	})
	n := &devNode{t: t, dir: dir, logs: logs, pid: cmd.Process.Pid}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for n.addr == "" || n.password == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("kdcha dev exited before it was ready:\n%s", logs.String())
			}
			if m := kdcLine.FindStringSubmatch(l); m != nil {
				n.addr, n.kpasswd = m[1], m[2]
			}
			if m := passwordLine.FindStringSubmatch(l); m != nil {
				n.password = m[1]
			}
		case <-deadline:
			t.Fatalf("kdcha dev not ready after 30s:\n%s", logs.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	n.env = append(os.Environ(),
		"KRB5_CONFIG="+filepath.Join(dir, "krb5.conf"),
		"KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"),
		"KDCHA_ADMIN_SOCKET="+filepath.Join(dir, "admin.sock"),
		"KRB5_TRACE=/dev/null",
	)
	return n
}

func containsFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// run runs a command with the node's environment and stdin, returning its
// combined output and error.
func (n *devNode) run(stdin string, name string, args ...string) (string, error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = n.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs a command that has to succeed.
func (n *devNode) must(stdin string, name string, args ...string) string {
	n.t.Helper()
	out, err := n.run(stdin, name, args...)
	if err != nil {
		n.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (n *devNode) kdcha(args ...string) string {
	n.t.Helper()
	return n.must("", kdchaBin, args...)
}

func (n *devNode) kinit(args ...string) {
	n.t.Helper()
	n.must(n.password+"\n", "kinit", append(args, "user")...)
}

// waitLog waits until the node's log contains s.
func (n *devNode) waitLog(s string) bool {
	for range 50 {
		if strings.Contains(n.logs.String(), s) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func TestMITKinitPassword(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	n.kinit()
	out := n.must("", "klist")
	if !strings.Contains(out, "Default principal: user@DEV.KDCHA.TEST") || !strings.Contains(out, "krbtgt/DEV.KDCHA.TEST@DEV.KDCHA.TEST") {
		t.Fatalf("klist after kinit:\n%s", out)
	}
	// kinit first sends no preauth, is told PREAUTH_REQUIRED, then proves
	// the password: both lines must be in the log.
	if !n.waitLog("NEEDED_PREAUTH: user@DEV.KDCHA.TEST") || !n.waitLog("ISSUE: authtime") {
		t.Fatalf("missing AS_REQ log lines:\n%s", n.logs.String())
	}
}

func TestMITWrongPasswordAndUnknownPrincipal(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	out, err := n.run("not-the-password\n", "kinit", "user")
	if err == nil || !strings.Contains(out, "Password incorrect") {
		t.Fatalf("kinit with a wrong password: err=%v\n%s", err, out)
	}
	out, err = n.run(n.password+"\n", "kinit", "nobody")
	if err == nil || !strings.Contains(out, "not found in Kerberos database") {
		t.Fatalf("kinit of an unknown principal: err=%v\n%s", err, out)
	}
	if !n.waitLog("KDC_ERR_PREAUTH_FAILED") || !n.waitLog("KDC_ERR_C_PRINCIPAL_UNKNOWN") {
		t.Fatalf("failures not logged by name:\n%s", n.logs.String())
	}
}

func TestMITKeytabAndKvno(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	n.kdcha("principal", "add", "HTTP/web.example.com", "--random-key", "--alias", "HTTP/192.0.2.5")
	kt := filepath.Join(t.TempDir(), "web.keytab")
	n.kdcha("keytab", "export", "HTTP/web.example.com", "-o", kt)
	fi, err := os.Stat(kt)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keytab mode: %v %v", fi.Mode(), err)
	}
	// A second export must not overwrite the file.
	if out, err := n.run("", kdchaBin, "keytab", "export", "HTTP/web.example.com", "-o", kt); err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("second export: err=%v\n%s", err, out)
	}
	out := n.must("", "klist", "-k", "-e", kt)
	if !strings.Contains(out, "HTTP/web.example.com@DEV.KDCHA.TEST (aes256-cts-hmac-sha1-96)") {
		t.Fatalf("klist -k:\n%s", out)
	}

	n.kinit()
	out = n.must("", "kvno", "HTTP/web.example.com", "HTTP/192.0.2.5")
	if !strings.Contains(out, "HTTP/web.example.com@DEV.KDCHA.TEST: kvno = 1") || !strings.Contains(out, "HTTP/192.0.2.5@DEV.KDCHA.TEST: kvno = 1") {
		t.Fatalf("kvno:\n%s", out)
	}
	// The service's keytab decrypts the ticket the KDC issued.
	out = n.must("", "kvno", "-k", kt, "HTTP/web.example.com")
	if !strings.Contains(out, "keytab entry valid") {
		t.Fatalf("kvno -k:\n%s", out)
	}
	out, err = n.run("", "kvno", "HTTP/web1.example.com")
	if err == nil || !strings.Contains(out, "not found in Kerberos database") {
		t.Fatalf("kvno of an unknown service: err=%v\n%s", err, out)
	}
	if !n.waitLog("closest existing names: [HTTP/web.example.com@DEV.KDCHA.TEST") {
		t.Fatalf("unknown service log line does not name the closest principal:\n%s", n.logs.String())
	}

	// The keytab works for kinit -kt too.
	n.must("", "kinit", "-kt", kt, "HTTP/web.example.com")
	if out := n.must("", "klist"); !strings.Contains(out, "Default principal: HTTP/web.example.com@DEV.KDCHA.TEST") {
		t.Fatalf("klist after kinit -kt:\n%s", out)
	}

	// rekey bumps the kvno: the old keytab no longer matches.
	n.kdcha("principal", "rekey", "HTTP/web.example.com")
	if out, err := n.run("", "kinit", "-kt", kt, "HTTP/web.example.com"); err == nil {
		t.Fatalf("kinit with a keytab from before rekey succeeded:\n%s", out)
	}
}

func TestMITForwardableRenewable(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	n.kdcha("principal", "add", "host/srv.example.com", "--random-key")
	n.kinit("-f", "-r", "2d")
	out := n.must("", "klist", "-f")
	// F forwardable, R renewable, I initial, A pre-authenticated.
	if !regexp.MustCompile(`krbtgt/DEV.KDCHA.TEST@DEV.KDCHA.TEST\n\s+renew until [^,]+, Flags: FRIA`).MatchString(out) {
		t.Fatalf("klist -f after kinit -f -r 2d:\n%s", out)
	}
	n.must("", "kvno", "host/srv.example.com")
	out = n.must("", "klist", "-f")
	if !regexp.MustCompile(`host/srv.example.com@DEV.KDCHA.TEST\n\s+renew until [^,]+, Flags: FRA`).MatchString(out) {
		t.Fatalf("service ticket flags from a forwardable TGT:\n%s", out)
	}
	n.must("", "kinit", "-R")
	out = n.must("", "klist", "-f")
	if !regexp.MustCompile(`krbtgt/DEV.KDCHA.TEST@DEV.KDCHA.TEST\n\s+renew until [^,]+, Flags: FRA`).MatchString(out) {
		t.Fatalf("klist -f after kinit -R (renewed ticket is not INITIAL? flags kept):\n%s", out)
	}

	// Without -f the TGT is not forwardable.
	n.must(n.password+"\n", "kinit", "-F", "user")
	out = n.must("", "klist", "-f")
	if strings.Contains(out, "Flags: F") {
		t.Fatalf("kinit -F gave a forwardable ticket:\n%s", out)
	}
}

func TestMITTCPOnly(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	conf := filepath.Join(n.dir, "krb5.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	tcpConf := filepath.Join(n.dir, "krb5-tcp.conf")
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n    udp_preference_limit = 1\n", 1)
	if err := os.WriteFile(tcpConf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	n.env = append(n.env, "KRB5_CONFIG="+tcpConf)
	n.kinit()
	n.must("", "kvno", "krbtgt/DEV.KDCHA.TEST")
	if !n.waitLog("transport=tcp") {
		t.Fatalf("no request arrived over TCP:\n%s", n.logs.String())
	}
	if strings.Contains(n.logs.String(), "transport=udp") {
		t.Fatalf("a request arrived over UDP despite udp_preference_limit = 1:\n%s", n.logs.String())
	}
}

func TestDevReopensRealm(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	// A second instance on the same data dir must refuse to start.
	out, err := exec.Command(kdchaBin, "dev", "--data-dir", n.dir, "--kdc-addr", "127.0.0.1:0").CombinedOutput()
	if err == nil {
		t.Fatalf("second kdcha dev on the same data dir started:\n%s", out)
	}
	// Opening it for another realm is refused with a clear message.
	out, err = exec.Command(kdchaBin, "dev", "--data-dir", n.dir, "--realm", "OTHER.TEST", "--kdc-addr", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "realm") {
		t.Fatalf("reopening for another realm: err=%v\n%s", err, out)
	}
}

// TestMITKrbtgtRekey: rotating the krbtgt key does not log users out: a
// TGT from before the rekey still gets service tickets, and new logins
// get TGTs in the new key.
func TestMITKrbtgtRekey(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	n.kdcha("principal", "add", "host/a.example.com", "--random-key")
	n.kdcha("principal", "add", "host/b.example.com", "--random-key")
	n.kinit()
	n.must("", "kvno", "host/a.example.com")
	if out := n.kdcha("principal", "rekey", "krbtgt/DEV.KDCHA.TEST"); !strings.Contains(out, "kvno 2") {
		t.Fatalf("rekey krbtgt: %s", out)
	}
	if out := n.must("", "kvno", "host/b.example.com"); !strings.Contains(out, "kvno = 1") {
		t.Fatalf("service ticket with a TGT from before the krbtgt rekey:\n%s", out)
	}
	n.kinit()
	n.must("", "kvno", "host/b.example.com")
}
