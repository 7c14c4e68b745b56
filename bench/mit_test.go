package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startMIT runs MIT krb5kdc on a loopback port with the realm of startKDC
// (user with testPassword and +requires_preauth, host/bench), or skips the
// test when MIT krb5 is not installed (CI installs krb5-kdc).
func startMIT(t *testing.T) string {
	t.Helper()
	for _, b := range []string{"krb5kdc", "kdb5_util", "kadmin.local"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("MIT krb5 %s not found (apt-get install krb5-kdc krb5-admin-server)", b)
		}
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kdcConf := func(port int) {
		write("kdc.conf", fmt.Sprintf(`[kdcdefaults]
	kdc_listen = 127.0.0.1:%[2]d
	kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
	%[3]s = {
		database_name = %[1]s/principal
		key_stash_file = %[1]s/stash
		acl_file = %[1]s/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:%[1]s/kdc.log
`, dir, port, testRealm))
	}
	kdcConf(0) // the port is picked just before krb5kdc starts
	write("krb5.conf", "[libdefaults]\n\tdefault_realm = "+testRealm+"\n")
	write("kadm5.acl", "")
	env := append(os.Environ(), "KRB5_CONFIG="+filepath.Join(dir, "krb5.conf"), "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"))
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("kdb5_util", "-r", testRealm, "create", "-s", "-P", "master-password")
	run("kadmin.local", "-r", testRealm, "-q", "addprinc -pw "+testPassword+" +requires_preauth user")
	run("kadmin.local", "-r", testRealm, "-q", "addprinc -randkey host/bench")
	// A port free for both UDP and TCP, picked as late as possible: picked
	// before the database was created, another test's connection took the
	// TCP port meanwhile and krb5kdc failed to bind.
	port := freeUDPAndTCPPort(t)
	kdcConf(port)
	cmd := exec.Command("krb5kdc", "-n", "-r", testRealm)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Ready when it answers; at most 10 s.
	c := Config{KDC: addr, Transport: "udp", Mode: ModeAS, Realm: testRealm, Client: "user", Duration: time.Second}
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	at, err := newASTemplate(testRealm, "user", c.ETypes, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := at.builder().build(nonceBase|9, time.Now())
	for deadline := time.Now().Add(10 * time.Second); ; {
		rt, err := dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rt.roundTrip(req, time.Now().Add(100*time.Millisecond))
		rt.close()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
			t.Fatalf("krb5kdc not answering after 10 s: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeUDPAndTCPPort returns a loopback port that was free for UDP and TCP.
func freeUDPAndTCPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		tl, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		tl.Close()
		if err == nil {
			ul.Close()
			return port
		}
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return 0
}

// TestRunAgainstMIT is the smoke test against MIT krb5kdc: each mode over
// UDP and TCP for a short closed loop; MIT must answer every request as
// expected (so every request was distinct and well formed to MIT's
// decoder) and every reply must pass the sample check.
func TestRunAgainstMIT(t *testing.T) {
	addr := startMIT(t)
	for _, mode := range []Mode{ModeAS, ModeASPreauth, ModeTGS} {
		for _, tr := range []string{"udp", "tcp"} {
			c := testConfig(addr, mode, tr)
			r, err := Run(context.Background(), c)
			if err != nil {
				t.Fatalf("%s/%s: %v", mode, tr, err)
			}
			if r.OK == 0 || len(r.Errors) > 0 || r.BadSamples > 0 || r.Sampled != r.OK {
				t.Errorf("%s/%s: ok %d errors %v sampled %d bad %d (%s)", mode, tr, r.OK, r.Errors, r.Sampled, r.BadSamples, r.SampleErr)
			}
		}
	}
}
