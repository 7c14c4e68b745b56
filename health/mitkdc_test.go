package health

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// mitRealm is the realm of the throwaway MIT KDC.
const mitRealm = "TEST.REALM"

// mitKDC is an MIT krb5kdc running in a temporary directory on loopback,
// with a probe principal that requires preauth, its keytab, a stale keytab
// (the key before the last rotation), a service principal and a principal
// "nopreauth" (keytab dir/nopreauth.keytab) that does not require preauth.
type mitKDC struct {
	dir         string
	addr        string
	keytab      string
	staleKeytab string
	principal   string
	service     string
	cmd         *exec.Cmd
}

// mitBinaries are the programs the MIT tests need; CI installs them with the
// Debian packages krb5-kdc, krb5-admin-server and krb5-user.
var mitBinaries = []string{"krb5kdc", "kdb5_util", "kadmin.local"}

// startMITKDC starts a KDC for the test, or skips the test when MIT krb5 is
// not installed. The KDC is killed when the test ends.
func startMITKDC(t testing.TB) *mitKDC {
	t.Helper()
	for _, b := range mitBinaries {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("MIT krb5 %s not found (install krb5-kdc, krb5-admin-server): %v", b, err)
		}
	}
	dir := t.TempDir()
	port := freePort(t)
	k := &mitKDC{
		dir:         dir,
		addr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		keytab:      filepath.Join(dir, "probe.keytab"),
		staleKeytab: filepath.Join(dir, "stale.keytab"),
		principal:   "probe@" + mitRealm,
		service:     "host/kdc.test",
	}
	writeFile(t, filepath.Join(dir, "kdc.conf"), fmt.Sprintf(`[kdcdefaults]
	kdc_listen = 127.0.0.1:%[2]d
	kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
	%[3]s = {
		database_name = %[1]s/principal
		key_stash_file = %[1]s/stash
		acl_file = %[1]s/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
		max_life = 1h
	}
[logging]
	kdc = FILE:%[1]s/kdc.log
	admin_server = FILE:%[1]s/kadmin.log
`, dir, port, mitRealm))
	writeFile(t, filepath.Join(dir, "krb5.conf"), fmt.Sprintf(`[libdefaults]
	default_realm = %[2]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	%[2]s = {
		kdc = 127.0.0.1:%[1]d
	}
`, port, mitRealm))
	writeFile(t, filepath.Join(dir, "kadm5.acl"), "")

	k.run(t, "kdb5_util", "-r", mitRealm, "create", "-s", "-P", "master-password")
	// ktadd re-randomises the key, so the first keytab ends up stale: what
	// an operator gets after rotating the key without deploying the keytab.
	k.kadmin(t, "addprinc -randkey +requires_preauth probe")
	k.kadmin(t, "ktadd -k "+k.staleKeytab+" probe")
	k.kadmin(t, "ktadd -k "+k.keytab+" probe")
	k.kadmin(t, "addprinc -randkey "+k.service)
	// MIT issues tickets without preauth unless +requires_preauth is set;
	// the probe must handle that first-reply AS-REP too.
	k.kadmin(t, "addprinc -randkey nopreauth")
	k.kadmin(t, "ktadd -k "+filepath.Join(dir, "nopreauth.keytab")+" nopreauth")

	k.cmd = exec.Command("krb5kdc", "-n", "-r", mitRealm)
	k.cmd.Env = k.env()
	var stderr bytes.Buffer
	k.cmd.Stderr = &stderr
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("start krb5kdc: %v", err)
	}
	t.Cleanup(func() {
		_ = k.cmd.Process.Signal(syscall.SIGCONT)
		_ = k.cmd.Process.Kill()
		_ = k.cmd.Wait()
	})
	k.waitReady(t, &stderr)
	return k
}

func (k *mitKDC) env() []string {
	return append(os.Environ(),
		"KRB5_CONFIG="+filepath.Join(k.dir, "krb5.conf"),
		"KRB5_KDC_PROFILE="+filepath.Join(k.dir, "kdc.conf"))
}

func (k *mitKDC) run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = k.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (k *mitKDC) kadmin(t testing.TB, query string) {
	t.Helper()
	k.run(t, "kadmin.local", "-r", mitRealm, "-q", query)
}

// waitReady probes until the KDC answers, for at most 10 s.
func (k *mitKDC) waitReady(t testing.TB, stderr *bytes.Buffer) {
	t.Helper()
	p := k.probe(t, TransportUDP, "")
	var last Result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		last = p.Run(ctx)
		cancel()
		if last.OK() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(k.dir, "kdc.log"))
	t.Fatalf("krb5kdc not ready after 10s: %v\nstderr: %s\nlog: %s", last.Err, stderr.String(), log)
}

// probe returns a kinit probe of the probe principal with its good keytab.
func (k *mitKDC) probe(t testing.TB, tr Transport, service string) *KinitProbe {
	t.Helper()
	p, err := NewKinitProbe(KinitOptions{KDC: k.addr, Transport: tr, Principal: k.principal, Keytab: k.keytab, Service: service})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (k *mitKDC) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := k.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal krb5kdc: %v", err)
	}
}

// freePort returns a port free on 127.0.0.1 for both TCP and UDP.
func freePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
