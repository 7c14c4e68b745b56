package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/internal/readiness"
	"github.com/kdcha/kdcha/node"
)

// kaOnlyRealm is the realm of the MIT KDCs the keepalived-only test fronts.
const kaOnlyRealm = "KA.TEST"

// mitHost is an MIT krb5kdc on a KDC host (a namespace), listening on the
// wildcard port 88 so that it also answers on the VIP when the host holds
// it. The database is a copy of one realm's: the stand-in for an LDAP
// backend every KDC reads.
type mitHost struct {
	dir string
	cmd *exec.Cmd
}

// startMITHost copies realm's database into a directory of its own and
// runs krb5kdc on it inside ns until the test ends.
func startMITHost(t *testing.T, realm *mitRealm, ns string) *mitHost {
	t.Helper()
	h := &mitHost{dir: t.TempDir()}
	entries, err := os.ReadDir(realm.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "principal") && e.Name() != "stash" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(realm.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[2]s
	dns_lookup_kdc = false
[kdcdefaults]
	kdc_listen = 88
	kdc_tcp_listen = 88
[realms]
	%[2]s = {
		kdc = 127.0.0.1:88
		database_name = %[1]s/principal
		key_stash_file = %[1]s/stash
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:%[1]s/kdc.log
`, h.dir, realm.realm)
	// Also the krb5.conf of the check script: the KDC on this host.
	if err := os.WriteFile(filepath.Join(h.dir, "krb5.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command("ip", "netns", "exec", ns, "krb5kdc", "-n", "-r", realm.realm)
	h.cmd.Env = append(os.Environ(), "KRB5_CONFIG="+filepath.Join(h.dir, "krb5.conf"), "KRB5_KDC_PROFILE="+filepath.Join(h.dir, "krb5.conf"))
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.cmd.Process.Signal(syscall.SIGCONT)
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	for range 100 {
		if b, _ := os.ReadFile(filepath.Join(h.dir, "kdc.log")); strings.Contains(string(b), "commencing operation") {
			return h
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("krb5kdc did not start")
	return nil
}

// signal sends sig to krb5kdc (`ip netns exec` execs it: same process).
func (h *mitHost) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := h.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal krb5kdc: %v", err)
	}
}

// seedStyleKeepalived is a keepalived.conf like the seed's (one VIP,
// unicast, a `kinit -kt` check behind env KRB5_CONFIG tracked with weight).
func seedStyleKeepalived(routerID, src, peer string, priority, weight int, krb5conf, keytab, principal, ccache string) string {
	router := ""
	if routerID != "" {
		router = "global_defs {\n   router_id " + routerID + "\n}\n"
	}
	return fmt.Sprintf(`%svrrp_script chk_krb5kdc {
    script "/usr/bin/env KRB5_CONFIG=%s KRB5CCNAME=FILE:%s /usr/bin/kinit -kt %s %s"
    interval 1
    timeout 1
    rise 2
    fall 2
}
vrrp_instance VI_KDC {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    virtual_ipaddress {
        %s/24
    }
    track_script {
        chk_krb5kdc weight %d
    }
}
`, router, krb5conf, ccache, keytab, principal, priority, src, peer, testVIP, weight)
}

// kaOnlyKinit authenticates from the client namespace through the VIP as
// the realm's user, against whichever MIT KDC holds it.
func kaOnlyKinit(l *haLAN) error {
	conf := filepath.Join(l.dir, "krb5-kaonly.conf")
	if err := os.WriteFile(conf, []byte(node.DevKrb5Conf(kaOnlyRealm, testVIP+":88", testVIP+":464")), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", l.client, "kinit", "kauser@"+kaOnlyRealm)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(l.dir, "ccache-kaonly"))
	cmd.Stdin = strings.NewReader("Ka-only-2026!\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kinit through the VIP: %v: %s", err, out)
	}
	return nil
}

// kaOnlyPair is the topology of the keepalived-only tests: two MIT
// krb5kdc with one database, each on its own host (namespace); on one a
// real keepalived with a seed-style `kinit -kt` check (priority 100), on
// the other a kdcha agent whose configuration `kdcha import keepalived`
// converted from the mirror keepalived.conf (priority 150, mode
// keepalived). Both track their check with weight.
type kaOnlyPair struct {
	l              *haLAN
	ka             *kaNode
	kd             *haNode
	kdKDC          *mitHost
	kdDir          string
	importReport   string
	kdPeer, kaPeer vipPeer
}

func newKAOnlyPair(t *testing.T, weight int) *kaOnlyPair {
	t.Helper()
	l := newHALAN(t)
	realm := newMITRealm(t, kaOnlyRealm)
	const kdchaAddr, kaAddr = "192.0.2.1", "192.0.2.2"
	keytabs := map[string]string{}
	for _, host := range []string{"kd", "ka"} {
		keytabs[host] = filepath.Join(realm.dir, host+".keytab")
		realm.kadmin("addprinc -randkey +requires_preauth kdc-check/" + host)
		realm.kadmin("ktadd -k " + keytabs[host] + " kdc-check/" + host)
	}
	realm.kadmin("addprinc -pw Ka-only-2026! kauser")

	// keepalived's host: MIT KDC, keepalived with the seed-style check.
	kaNS := l.attach("kdchaK", kaAddr)
	kaKDC := startMITHost(t, realm, kaNS)
	kaDir := filepath.Join(l.dir, "ka")
	if err := os.MkdirAll(kaDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ka := &kaNode{name: "keepalived", ns: kaNS, addr: kaAddr, dir: kaDir, conf: filepath.Join(kaDir, "keepalived.conf"), vrrpPID: filepath.Join(kaDir, "vrrp.pid")}
	kaConf := seedStyleKeepalived("ka", kaAddr, kdchaAddr, 100, weight, filepath.Join(kaKDC.dir, "krb5.conf"), keytabs["ka"], "kdc-check/ka@"+kaOnlyRealm, filepath.Join(kaDir, "ccache"))
	if err := os.WriteFile(ka.conf, []byte(kaConf), 0o600); err != nil {
		t.Fatal(err)
	}

	// kdcha's host: MIT KDC, and the agent converted from the mirror
	// keepalived.conf (keepalived's as --peer, for the weight tie check);
	// only the node section is added by hand.
	kdNS := l.attach("kdchaN", kdchaAddr)
	kdKDC := startMITHost(t, realm, kdNS)
	kdDir := filepath.Join(l.dir, "kd")
	if err := os.MkdirAll(kdDir, 0o700); err != nil {
		t.Fatal(err)
	}
	kdKeepalived := filepath.Join(kdDir, "keepalived.conf")
	kdConf := seedStyleKeepalived("", kdchaAddr, kaAddr, 150, weight, filepath.Join(kdKDC.dir, "krb5.conf"), keytabs["kd"], "kdc-check/kd@"+kaOnlyRealm, filepath.Join(kdDir, "ccache"))
	if err := os.WriteFile(kdKeepalived, []byte(kdConf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(kdDir, "kdcha.yaml")
	report, err := exec.Command(kdchaBin, "import", "keepalived", kdKeepalived, "--peer", ka.conf, "-o", cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("import keepalived: %v\n%s", err, report)
	}
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "node:\n  name: kd\n  admin_socket: %s/admin.sock\n", kdDir)
	f.Close()
	// In the node's namespace, like the agent: check-config checks the
	// interface and its addresses too.
	if out, err := exec.Command("ip", "netns", "exec", kdNS, kdchaBin, "check-config", "--config", cfgPath).CombinedOutput(); err != nil {
		b, _ := os.ReadFile(cfgPath)
		t.Fatalf("check-config: %v\n%s\n%s", err, out, b)
	}
	kd := &haNode{name: "kd", ns: kdNS, addr: kdchaAddr, cfgPath: cfgPath}

	return &kaOnlyPair{l: l, ka: ka, kd: kd, kdKDC: kdKDC, kdDir: kdDir, importReport: string(report),
		kdPeer: vipPeer{"kdcha", kd.ns}, kaPeer: vipPeer{"keepalived", ka.ns}}
}

// TestKeepalivedOnlyMode: kdcha (mode keepalived) holds the VIP and its MIT
// KDC answers kinit through it; a hung krb5kdc (SIGSTOP) on kdcha's host
// moves the VIP to keepalived's host (150 - 60 < 100) and SIGCONT brings it
// back; a planned stop of kdcha hands the VIP over. The times are logged.
func TestKeepalivedOnlyMode(t *testing.T) {
	requireKeepalived(t)
	t.Parallel()
	p := newKAOnlyPair(t, -60)
	if strings.Contains(p.importReport, "a tie with") {
		t.Errorf("import keepalived warned about a tie with weight -60 (150 - 60 = 90 < 100):\n%s", p.importReport)
	}
	l, ka, kd, kdKDC, kdDir, kdPeer, kaPeer := p.l, p.ka, p.kd, p.kdKDC, p.kdDir, p.kdPeer, p.kaPeer
	const wait = 20 * time.Second

	start := time.Now()
	kd.start(t)
	ka.start(t)
	l.waitSoleHolder(wait, kdPeer, kdPeer, kaPeer)
	t.Logf("start: kdcha (mode keepalived) holds the VIP %v after its start", time.Since(start).Round(time.Millisecond))
	if err := kaOnlyKinit(l); err != nil {
		t.Fatalf("kdcha holds the VIP: %v", err)
	}

	st, out, err := kdchaStatus(kdDir)
	if err != nil || st.Mode != "keepalived" || st.Realm != kaOnlyRealm || len(st.KDC) != 0 || st.Health == nil || len(st.Health.Checks) != 1 || st.Health.Checks[0].Name != "chk_krb5kdc" {
		t.Errorf("kdcha status: %v\n%s", err, out)
	}

	// /readyz on the metrics listener (default 127.0.0.1:9188, in kdcha's
	// namespace): ready, waiting for nothing a KDC or replica would need.
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("ip", "netns", "exec", kd.ns, "curl", "-sS", "--max-time", "5", "http://127.0.0.1:9188/readyz").CombinedOutput()
		var rep readiness.Report
		if err == nil {
			err = json.Unmarshal(out, &rep)
		}
		if err != nil || !rep.Ready || len(rep.Conditions) != 1 || rep.Conditions[0].Name != readiness.FirstHealthVerdict {
			t.Errorf("/readyz: %v\n%s", err, out)
		}
	}

	// kdcha's MIT KDC hangs: its kinit check fails, 150 - 60 < 100.
	kdKDC.signal(t, syscall.SIGSTOP)
	took := l.waitSoleHolder(wait, kaPeer, kdPeer, kaPeer)
	t.Logf("hung krb5kdc on kdcha's host (SIGSTOP): keepalived holds the VIP after %v", took.Round(time.Millisecond))
	if err := kaOnlyKinit(l); err != nil {
		t.Fatalf("keepalived holds the VIP: %v", err)
	}

	kdKDC.signal(t, syscall.SIGCONT)
	took = l.waitSoleHolder(wait, kdPeer, kdPeer, kaPeer)
	t.Logf("krb5kdc resumed (SIGCONT): kdcha holds the VIP again after %v", took.Round(time.Millisecond))
	if err := kaOnlyKinit(l); err != nil {
		t.Fatalf("kdcha holds the VIP again: %v", err)
	}

	// Planned stop: kdcha resigns and keeps the VIP until keepalived has it.
	start = time.Now()
	stopped := make(chan struct{})
	go func() { kd.stop(); close(stopped) }()
	took = l.waitSoleHolder(wait, kaPeer, kdPeer, kaPeer)
	t.Logf("planned stop of kdcha (SIGTERM): keepalived holds the VIP after %v", took.Round(time.Millisecond))
	<-stopped
	t.Logf("planned stop of kdcha: agent exited after %v", time.Since(start).Round(time.Millisecond))
	if err := kaOnlyKinit(l); err != nil {
		t.Fatalf("after kdcha's planned stop: %v", err)
	}
	if logs := kd.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("kdcha logged errors:\n%s", logs)
	}
}

// kdchaStatus runs `kdcha status --json` against the admin socket in dir.
func kdchaStatus(dir string) (admin.NodeStatus, []byte, error) {
	cmd := exec.Command(kdchaBin, "status", "--json")
	cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(dir, "admin.sock"))
	out, err := cmd.CombinedOutput()
	var st admin.NodeStatus
	if err == nil {
		err = json.Unmarshal(out, &st)
	}
	return st, out, err
}

// TestKeepalivedOnlyWeightTie is what the import's tie warning is about:
// with the seed's weight -50 on priorities 150/100, a hung krb5kdc on the
// master's host takes the master to 100, a tie with the backup, and real
// keepalived keeps it master: the VIP stays on the hung KDC.
func TestKeepalivedOnlyWeightTie(t *testing.T) {
	requireKeepalived(t)
	t.Parallel()
	p := newKAOnlyPair(t, -50)
	if !strings.Contains(p.importReport, "a tie with the backup's priority 100") {
		t.Errorf("import keepalived did not warn about the tie:\n%s", p.importReport)
	}
	p.kd.start(t)
	p.ka.start(t)
	p.l.waitSoleHolder(20*time.Second, p.kdPeer, p.kdPeer, p.kaPeer)

	p.kdKDC.signal(t, syscall.SIGSTOP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, out, err := kdchaStatus(p.kdDir)
		if err == nil && st.Health != nil && st.Health.Delta == -50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kdcha's check never went down: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Twice keepalived's master down interval: long enough for any
	// takeover keepalived would make.
	hold := 2 * masterDown(2, 100, time.Second)
	for end := time.Now().Add(hold); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if !nsHoldsVIP(p.kd.ns) || nsHoldsVIP(p.ka.ns) {
			t.Fatalf("the VIP moved on a tie (kdcha holds: %v, keepalived holds: %v)", nsHoldsVIP(p.kd.ns), nsHoldsVIP(p.ka.ns))
		}
	}
	t.Logf("tie (150 - 50 = 100): the VIP stayed %v on the host of the hung krb5kdc", hold)
}
