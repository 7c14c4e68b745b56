package kdc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/kdcha/kdcha/kdc/db"
)

// The golden request files are real clients' AS-REQs and TGS-REQs, recorded
// by TestCaptureGolden and replayed by TestGoldenRequests. Regenerate them
// (needs krb5-user, Java 17 and Heimdal's kinit/kgetcred, see the README in
// the directory) with
//
//	KDCHA_CAPTURE=1 go test ./kdc -run TestCaptureGolden -count=1
//
// The capture KDC serves goldenDB (passwords fixed by newMemDB), so the
// replay can rebuild every key: the krbtgt key that decrypts the TGTs in the
// TGS-REQs, the client key that checks PA-ENC-TIMESTAMP.
const goldenDir = "testdata/requests"

// goldenPassword is alice's password in newMemDB.
const goldenPassword = "alice-password-1"

// goldenEntry describes one captured request in testdata/requests/manifest.json.
type goldenEntry struct {
	File      string    `json:"file"`
	Client    string    `json:"client"`  // program and version
	Command   string    `json:"command"` // what was run
	Transport string    `json:"transport"`
	Captured  time.Time `json:"captured"` // the KDC's clock when it arrived
	// What the request holds, checked against the decoder on replay.
	MsgType    int     `json:"msg_type"`
	CName      string  `json:"cname,omitempty"` // AS-REQ only: TGS-REQs name the client in the ticket
	SName      string  `json:"sname"`
	Realm      string  `json:"realm"`
	ETypes     []int32 `json:"etypes"`
	PAData     []int32 `json:"padata"`
	KDCOptions string  `json:"kdc_options"`
	// Reply is the class of the capture KDC's answer: AS-REP, TGS-REP or
	// KRB-ERROR <code>.
	Reply string `json:"reply"`
}

// goldenDB is the database of the capture KDC and of the replay: newMemDB
// plus kadmin/changepw, which kpasswd asks a ticket for.
func goldenDB(t testing.TB) *memDB {
	m := newMemDB(t)
	m.add(t, "kadmin/changepw", "", db.Attributes{})
	return m
}

// recorder serves a Handler on loopback UDP and TCP and keeps every request
// with its arrival time, grouped by the scenario running.
type recorder struct {
	h    *Handler
	udp  *net.UDPConn
	tcp  net.Listener
	port int

	mu       sync.Mutex
	scenario string
	got      []recorded
}

type recorded struct {
	scenario, transport string
	at                  time.Time
	data, reply         []byte
}

func (r *recorder) record(transport string, data []byte) []byte {
	at := time.Now()
	reply := r.h.Handle(Request{Data: data, From: netip.MustParseAddrPort("127.0.0.1:1"), Transport: transport})
	r.mu.Lock()
	r.got = append(r.got, recorded{scenario: r.scenario, transport: transport, at: at, data: bytes.Clone(data), reply: reply})
	r.mu.Unlock()
	return reply
}

func (r *recorder) serve() {
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := r.udp.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if reply := r.record("udp", buf[:n]); reply != nil {
				_, _ = r.udp.WriteToUDPAddrPort(reply, from)
			}
		}
	}()
	go func() {
		for {
			c, err := r.tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					data, err := ReadFrame(c, 65536)
					if err != nil {
						return
					}
					if reply := r.record("tcp", data); reply != nil {
						if _, err := c.Write(AppendFrame(nil, reply)); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
}

// TestCaptureGolden runs the real clients against a recording KDC and
// rewrites testdata/requests. It runs only with KDCHA_CAPTURE=1.
func TestCaptureGolden(t *testing.T) {
	if os.Getenv("KDCHA_CAPTURE") != "1" {
		t.Skip("set KDCHA_CAPTURE=1 to capture the golden requests again")
	}
	r := &recorder{h: NewHandler(goldenDB(t), DefaultConfig().Policy(), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))}
	var err error
	if r.udp, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	r.port = r.udp.LocalAddr().(*net.UDPAddr).Port
	if r.tcp, err = net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", r.port)); err != nil {
		t.Fatal(err)
	}
	defer r.udp.Close()
	defer r.tcp.Close()
	r.serve()

	dir := t.TempDir()
	var entries []goldenEntry
	run := func(name, client, command string, fn func() error) {
		t.Helper()
		r.mu.Lock()
		r.scenario, r.got = name, nil
		r.mu.Unlock()
		if err := fn(); err != nil {
			t.Fatalf("%s (%s): %v", name, command, err)
		}
		r.mu.Lock()
		got := r.got
		r.mu.Unlock()
		if len(got) == 0 {
			t.Fatalf("%s: the client sent nothing", name)
		}
		for i, g := range got {
			e, err := describeRequest(g.data, g.reply)
			if err != nil {
				t.Fatalf("%s request %d: %v", name, i, err)
			}
			kind := "as"
			if e.MsgType == 12 {
				kind = "tgs"
			}
			e.File = fmt.Sprintf("%s-%d-%s.bin", name, i+1, kind)
			e.Client, e.Command, e.Transport, e.Captured = client, command, g.transport, g.at.UTC()
			if err := os.WriteFile(filepath.Join(goldenDir, e.File), g.data, 0o644); err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
		}
	}
	if err := os.RemoveAll(goldenDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tr := range []string{"udp", "tcp"} {
		mitCapture(t, r.port, tr, dir, run)
		heimdalCapture(t, r.port, tr, dir, run)
		javaCapture(t, r.port, tr, dir, run)
		gokrb5Capture(t, r.port, tr, run)
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goldenDir, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goldenDir, "README.md"), goldenReadme(entries), 0o644); err != nil {
		t.Fatal(err)
	}
}

type runFunc func(name, client, command string, fn func() error)

// shell runs a command with env and stdin, bounded by 30 s.
func shell(env []string, stdin string, argv ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %w\n%s", argv, err, out)
	}
	return nil
}

func version(env []string, argv ...string) string {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// krb5Conf is a client configuration for the recorder; udp_preference_limit
// = 1 sends everything over TCP (MIT, Java and gokrb5 honour it).
func krb5Conf(port int, transport string) string {
	limit := ""
	if transport == "tcp" {
		limit = "    udp_preference_limit = 1\n"
	}
	return fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    forwardable = true
    renew_lifetime = 2d
    default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
    default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
%[3]s
[realms]
    %[1]s = {
        kdc = 127.0.0.1:%[2]d
        kpasswd_server = 127.0.0.1:9
    }
`, testRealm, port, limit)
}

func writeConf(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mitCapture(t *testing.T, port int, tr, dir string, run runFunc) {
	if _, err := exec.LookPath("kinit"); err != nil {
		t.Fatalf("MIT kinit not found (apt-get install krb5-user): %v", err)
	}
	conf := writeConf(t, dir, "mit-"+tr+".conf", krb5Conf(port, tr))
	env := []string{"KRB5_CONFIG=" + conf, "KRB5CCNAME=FILE:" + filepath.Join(dir, "mit-"+tr+".ccache"), "KRB5_TRACE=/dev/null"}
	v := "MIT krb5 " + version(nil, "dpkg-query", "-W", "-f=${Version}", "krb5-user")
	pw := goldenPassword + "\n"
	run("mit-kinit-"+tr, v, "kinit -f -r 2d alice", func() error { return shell(env, pw, "kinit", "-f", "-r", "2d", "alice") })
	run("mit-kvno-"+tr, v, "kvno HTTP/web.example.com (forwardable TGT)", func() error { return shell(env, "", "kvno", "HTTP/web.example.com") })
	run("mit-renew-"+tr, v, "kinit -R", func() error { return shell(env, "", "kinit", "-R") })
	run("mit-kpasswd-"+tr, v, "kpasswd alice (AS-REQs for kadmin/changepw; no kpasswd server)", func() error {
		// kpasswd fails at the password change itself (nothing listens on
		// the kpasswd port); only its AS exchange is wanted.
		_ = shell(env, pw+"new-password-2\nnew-password-2\n", "kpasswd", "alice")
		return nil
	})
}

func heimdalCapture(t *testing.T, port int, tr, dir string, run runFunc) {
	root := os.Getenv("KDCHA_HEIMDAL_ROOT") // a dpkg -x of heimdal-clients and its libraries
	if root == "" {
		t.Log("KDCHA_HEIMDAL_ROOT not set: no Heimdal captures")
		return
	}
	kdc := fmt.Sprintf("127.0.0.1:%d", port)
	if tr == "tcp" {
		kdc = "tcp/" + kdc
	}
	conf := writeConf(t, dir, "heimdal-"+tr+".conf", fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    forwardable = true
    default_etypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
[realms]
    %[1]s = {
        kdc = %[2]s
    }
`, testRealm, kdc))
	bin := filepath.Join(root, "usr/bin")
	env := []string{"KRB5_CONFIG=" + conf, "KRB5CCNAME=FILE:" + filepath.Join(dir, "heimdal-"+tr+".ccache"),
		"LD_LIBRARY_PATH=" + filepath.Join(root, "usr/lib/x86_64-linux-gnu")}
	v := version(env, filepath.Join(bin, "kinit.heimdal"), "--version")
	run("heimdal-kinit-"+tr, v, "kinit --forwardable --renewable --password-file=STDIN alice", func() error {
		return shell(env, goldenPassword+"\n", filepath.Join(bin, "kinit.heimdal"), "--forwardable", "--renewable", "--password-file=STDIN", "alice")
	})
	run("heimdal-kgetcred-"+tr, v, "kgetcred --forwardable HTTP/web.example.com", func() error {
		return shell(env, "", filepath.Join(bin, "kgetcred"), "--forwardable", "HTTP/web.example.com")
	})
	run("heimdal-renew-"+tr, v, "kinit --renew", func() error {
		return shell(env, "", filepath.Join(bin, "kinit.heimdal"), "--renew")
	})
}

func javaCapture(t *testing.T, port int, tr, dir string, run runFunc) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found (apt-get install openjdk-17-jdk-headless): %v", err)
	}
	conf := writeConf(t, dir, "java-"+tr+".conf", krb5Conf(port, tr))
	src, err := filepath.Abs("../cmd/kdcha/testdata/java/KdchaJavaClient.java")
	if err != nil {
		t.Fatal(err)
	}
	v := "Java " + version(nil, java, "-version")
	run("java-"+tr, v, "KdchaJavaClient.java --principal alice --password-stdin --service HTTP/web.example.com --deleg --renew (AS, renewal, service ticket, forwarded TGT)", func() error {
		return shell(nil, goldenPassword+"\n", java, "-Djava.security.krb5.conf="+conf, src,
			"--principal", "alice@"+testRealm, "--password-stdin", "--service", "HTTP/web.example.com@"+testRealm,
			"--name-type", "principal", "--deleg", "--renew")
	})
}

func gokrb5Capture(t *testing.T, port int, tr string, run runFunc) {
	cfg, err := config.NewFromString(krb5Conf(port, tr))
	if err != nil {
		t.Fatal(err)
	}
	v := "gokrb5 " + moduleVersion(t, "github.com/jcmturner/gokrb5/v8")
	run("gokrb5-"+tr, v, "client.NewWithPassword(alice).Login(); GetServiceTicket(HTTP/web.example.com)", func() error {
		cl := client.NewWithPassword("alice", testRealm, goldenPassword, cfg, client.DisablePAFXFAST(true))
		defer cl.Destroy()
		if err := cl.Login(); err != nil {
			return err
		}
		_, _, err := cl.GetServiceTicket("HTTP/web.example.com")
		return err
	})
}

// moduleVersion reads a dependency's version from go.mod (a test binary's
// build info lists no dependencies).
func moduleVersion(t *testing.T, path string) string {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	t.Fatalf("%s not in go.mod", path)
	return ""
}

// goldenReadme lists the files for people; manifest.json is what the test reads.
func goldenReadme(entries []goldenEntry) []byte {
	var b bytes.Buffer
	b.WriteString(`# Golden KDC requests from real clients

Each .bin file is one AS-REQ or TGS-REQ exactly as a real client sent it (for
TCP, without the 4-byte length prefix), recorded by TestCaptureGolden in
kdc/golden_capture_test.go against a KDC serving goldenDB (realm TEST.REALM,
alice's password "alice-password-1", every other key derived from a fixed
string, see kdc/memdb_test.go). TestGoldenRequests decodes each one, checks
the fields listed in manifest.json and replays it through the Handler with
the clock set to the capture time. Regenerate with

    KDCHA_CAPTURE=1 KDCHA_HEIMDAL_ROOT=/tmp/heimdal/root go test ./kdc -run TestCaptureGolden -count=1

(KDCHA_HEIMDAL_ROOT: heimdal-clients and its libraries unpacked with
` + "`apt-get download` + `dpkg -x`" + `, as heimdal-clients conflicts with krb5-user.)

| file | client | command | request | padata | reply |
| --- | --- | --- | --- | --- | --- |
`)
	for _, e := range entries {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %v | %s |\n", e.File, e.Client, e.Command, goldenSummary(e), e.PAData, e.Reply)
	}
	return b.Bytes()
}

// goldenSummary says what a request asks for: the exchange, the server and
// the KDC options set.
func goldenSummary(e goldenEntry) string {
	names := []string{"reserved", "forwardable", "forwarded", "proxiable", "proxy", "allow-postdate", "postdated",
		"unused7", "renewable", "unused9", "unused10", "opt-hardware-auth", "unused12", "unused13", "cname-in-addl-tkt",
		"canonicalize"}
	opts, _ := hex.DecodeString(e.KDCOptions)
	var set []string
	for i, n := range names {
		if i/8 < len(opts) && opts[i/8]&(0x80>>(i%8)) != 0 {
			set = append(set, n)
		}
	}
	// The low bits (26 disable-transited-check ... 31 validate).
	for bit, n := range map[int]string{27: "renewable-ok", 28: "enc-tkt-in-skey", 30: "renew", 31: "validate"} {
		if bit/8 < len(opts) && opts[bit/8]&(0x80>>(bit%8)) != 0 {
			set = append(set, n)
		}
	}
	slices.Sort(set)
	kind := "AS-REQ"
	if e.MsgType == 12 {
		kind = "TGS-REQ"
	}
	return fmt.Sprintf("%s for %s, etypes %v, options {%s}", kind, e.SName, e.ETypes, strings.Join(set, " "))
}
