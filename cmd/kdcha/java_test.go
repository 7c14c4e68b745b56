package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// javaClient is the single-file Java program the Java tests run with the
// JDK 11+ source launcher (no build step).
const javaClient = "testdata/java/KdchaJavaClient.java"

// requireJava skips when no JDK 11+ is installed (the source launcher needs
// 11); CI has OpenJDK 17.
func requireJava(t *testing.T) string {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java not installed (apt-get install openjdk-17-jdk-headless); the Java client tests need a JDK 11+")
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	m := regexp.MustCompile(`version "(\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Skipf("cannot tell the version of %s: %v\n%s", java, err, out)
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 11 {
		t.Skipf("%s is Java %d; the single-file source launcher needs Java 11+", java, v)
	}
	return java
}

// javaRun is one run of the Java client against a devNode.
type javaRun struct {
	out  string // combined stdout and stderr
	code int    // exit status: 0 ok, 1 GSS/renew failure, 2 login failure
	logs string // the KDC log lines written during the run
}

// ok returns the fields of the "OK <step> k=v ..." line for step, failing
// the test if the Java client did not print it.
func (r javaRun) ok(t *testing.T, step string) map[string]string {
	t.Helper()
	for _, l := range strings.Split(r.out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "OK" && f[1] == step {
			kv := map[string]string{}
			for _, p := range f[2:] {
				k, v, _ := strings.Cut(p, "=")
				kv[k] = v
			}
			return kv
		}
	}
	t.Fatalf("the Java client printed no OK %s line:\n%s", step, r.out)
	return nil
}

// runJava runs the Java client with krb5conf and args (the password, if
// any, goes to stdin), bounded by a minute, and returns its output, its exit
// status and the KDC log lines the run produced (waiting briefly for the
// last ones, which the KDC may write after its reply).
func runJava(t *testing.T, n *devNode, java, krb5conf, stdin string, debug bool, args ...string) javaRun {
	t.Helper()
	src, err := filepath.Abs(javaClient)
	if err != nil {
		t.Fatal(err)
	}
	before := len(n.logs.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := []string{"-Djava.security.krb5.conf=" + krb5conf}
	if debug {
		argv = append(argv, "-Dsun.security.krb5.debug=true", "-Dsun.security.jgss.debug=true")
		args = append(args, "--debug")
	}
	argv = append(append(argv, src), args...)
	cmd := exec.CommandContext(ctx, java, argv...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	r := javaRun{out: string(out)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("java %s: no answer within a minute:\n%s", strings.Join(args, " "), out)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("java: %v", err)
	}
	// The KDC's stderr reaches n.logs through a pipe: wait until it has
	// been quiet for 300 ms (at most 3 s).
	last, quiet := len(n.logs.String()), 0
	for i := 0; i < 30 && quiet < 3; i++ {
		time.Sleep(100 * time.Millisecond)
		if l := len(n.logs.String()); l != last {
			last, quiet = l, 0
		} else {
			quiet++
		}
	}
	r.logs = n.logs.String()[before:]
	return r
}

// mustJava runs the Java client and requires it to finish every step; on
// failure it runs it again with sun.security.krb5.debug for the report.
func mustJava(t *testing.T, n *devNode, java, krb5conf, stdin string, args ...string) javaRun {
	t.Helper()
	r := runJava(t, n, java, krb5conf, stdin, false, args...)
	if r.code != 0 || !strings.Contains(r.out, "OK DONE") {
		d := runJava(t, n, java, krb5conf, stdin, true, args...)
		t.Fatalf("Java client failed (exit %d):\n%s\nKDC log lines of the run:\n%s\n--- again with sun.security.krb5.debug=true:\n%s",
			r.code, r.out, r.logs, d.out)
	}
	return r
}

// krb5ConfVariant writes a copy of the dev krb5.conf with extra
// [libdefaults] lines and returns its path.
func krb5ConfVariant(t *testing.T, n *devNode, name string, lines ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}
	extra := ""
	for _, l := range lines {
		extra += "    " + l + "\n"
	}
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n"+extra, 1)
	if s == string(b) {
		t.Fatalf("no [libdefaults] section in the dev krb5.conf:\n%s", b)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// requireLog fails unless the run's KDC log lines match every pattern.
func requireLog(t *testing.T, r javaRun, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(r.logs) {
			t.Errorf("KDC log of the run has no line matching %q:\n%s", p, r.logs)
		}
	}
}

// hasFlag reports whether a comma-separated flag list (as the Java client
// prints it) contains flag.
func hasFlag(list, flag string) bool {
	for _, f := range strings.Split(list, ",") {
		if f == flag {
			return true
		}
	}
	return false
}

func requireFlags(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !hasFlag(got, w) {
			t.Errorf("%s flags %q lack %q", what, got, w)
		}
	}
}

// TestJavaClient checks that the JDK's Kerberos stack, the strictest
// client there is (sun.security.krb5.KrbKdcRep.check refuses a reply whose
// sname, nonce, KDC option bits 2-5 or RENEWABLE do not match the request
// with "Message stream modified (41)"), accepts the KDC as a Java
// application uses it: a JAAS Krb5LoginModule login (AS with encrypted
// timestamp pre-authentication) by password and by keytab, a JGSS
// initSecContext for a service (TGS) with credential delegation (a TGS
// exchange for a FORWARDED TGT), the service accepting the token with its
// keytab and using the delegated TGT (a TGS exchange whose reply must carry
// FORWARDED, which Java expects without asking for it on the wire), an alias
// service name (the reply must name the alias, not the canonical name),
// TCP only, a renewable TGT and its renewal, proxiable and renewable-ok
// requests, a client not allowed forwardable tickets (Java logs in and does
// not delegate), and that a wrong password and an unknown service are
// reported by name rather than as protocol errors.
func TestJavaClient(t *testing.T) {
	java := requireJava(t)
	n := startDev(t, nil)
	n.kdcha("principal", "add", "HTTP/web.example.com", "--random-key", "--alias", "HTTP/192.0.2.5")
	kt := filepath.Join(t.TempDir(), "web.keytab")
	n.kdcha("keytab", "export", "HTTP/web.example.com", "-o", kt)
	conf := filepath.Join(n.dir, "krb5.conf") // has forwardable = true
	const (
		realm   = "DEV.KDCHA.TEST"
		user    = "user@" + realm
		svc     = "HTTP/web.example.com@" + realm
		krbtgt  = "krbtgt/" + realm + "@" + realm
		asIssue = `AS_REQ \(\d+ etypes \{[\d ]+\}\) 127\.0\.0\.1: ISSUE: authtime \d+, etypes \{rep=\d+ tkt=\d+ ses=\d+\}, `
		tgsIssu = `TGS_REQ \(\d+ etypes \{[\d ]+\}\) 127\.0\.0\.1: ISSUE: authtime \d+, etypes \{rep=\d+ tkt=\d+ ses=\d+\}, `
	)
	pw := n.password + "\n"
	// alice may not have forwardable tickets, bob not renewable ones.
	const testPW = "Zq8-horse-Battery-77"
	alice := "alice@" + realm
	n.must(testPW+"\n", kdchaBin, "principal", "add", "alice", "--password-file", "-")
	n.kdcha("principal", "modify", "alice", "--allow-forwardable=false")
	bob := "bob@" + realm
	n.must(testPW+"\n", kdchaBin, "principal", "add", "bob", "--password-file", "-")
	n.kdcha("principal", "modify", "bob", "--allow-renewable=false")
	// renew_lifetime makes Java set RENEWABLE and rtime in the AS-REQ; it
	// refuses a reply without RENEWABLE or with renew-till past rtime.
	// (No ticket_lifetime here: Java's renewal would then send till = now +
	// ticket_lifetime, which a RENEW reply, lifetime kept as RFC 4120 and MIT
	// do, exceeds whenever the KDC's second has ticked past the client's.)
	renewConf := krb5ConfVariant(t, n, "krb5-renew.conf", "renew_lifetime = 2d")
	acceptor := []string{"--accept-keytab", kt, "--accept-principal", svc}
	q := regexp.QuoteMeta

	// delegation checks a run that requested delegation end to end.
	delegation := func(t *testing.T, r javaRun, client, server string) {
		t.Helper()
		if in := r.ok(t, "INIT"); in["deleg"] != "true" {
			t.Errorf("Java did not delegate (it does so only with a forwardable TGT and a FORWARDED TGT from the KDC): %v", in)
		}
		acc := r.ok(t, "ACCEPT")
		if acc["src"] != client || acc["deleg"] != "true" || acc["delegated-cred"] != client {
			t.Errorf("the service saw %v; want src and delegated-cred %s, deleg=true", acc, client)
		}
		use := r.ok(t, "DELEGATED-USE")
		if use["src"] != client {
			t.Errorf("ticket from the delegated TGT names %s, want %s", use["src"], client)
		}
		requireFlags(t, "ticket from the forwarded TGT", use["ticket-flags"], "forwarded", "forwardable")
		// AS, then TGS for the service, for the forwarded TGT and, on the
		// service side, for the service again with that TGT.
		requireLog(t, r,
			tgsIssu+q(client+" for "+server),
			tgsIssu+q(client+" for "+krbtgt),
		)
		if c := strings.Count(r.logs, "ISSUE"); c < 4 {
			t.Errorf("KDC issued %d tickets in the run, want AS + 3 TGS:\n%s", c, r.logs)
		}
	}

	t.Run("password_hostbased_delegation", func(t *testing.T) {
		r := mustJava(t, n, java, conf, pw, append([]string{"--principal", user, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased", "--deleg"}, acceptor...)...)
		login := r.ok(t, "LOGIN")
		if login["client"] != user || login["server"] != krbtgt {
			t.Errorf("Java's TGT: %v", login)
		}
		requireFlags(t, "TGT", login["flags"], "forwardable", "initial", "pre-authent")
		st := r.ok(t, "TICKET")
		if st["server"] != svc || st["session-enctype"] != "18" {
			t.Errorf("Java's service ticket: %v; want server %s, session enctype 18 (aes256)", st, svc)
		}
		delegation(t, r, user, svc)
		// Java first asks without pre-authentication, is told it is
		// required, then proves the password.
		requireLog(t, r,
			q("NEEDED_PREAUTH: "+user+" for "+krbtgt),
			asIssue+q(user+" for "+krbtgt),
		)
	})

	t.Run("alias_service_name", func(t *testing.T) {
		// Java refuses a TGS-REP whose sname differs from the request's
		// (unless it is a krbtgt referral): the KDC must not rewrite the
		// alias to the canonical name. The service's keytab (under its
		// canonical name) decrypts the ticket.
		r := mustJava(t, n, java, conf, pw, append([]string{"--principal", user, "--password-stdin",
			"--service", "HTTP/192.0.2.5@" + realm, "--name-type", "principal", "--deleg"}, acceptor...)...)
		if st := r.ok(t, "TICKET"); st["server"] != "HTTP/192.0.2.5@"+realm {
			t.Errorf("service ticket for an alias names %s, want HTTP/192.0.2.5@%s", st["server"], realm)
		}
		delegation(t, r, user, "HTTP/192.0.2.5@"+realm)
	})

	t.Run("keytab_login", func(t *testing.T) {
		r := mustJava(t, n, java, conf, "", append([]string{"--principal", svc, "--keytab", kt,
			"--service", "HTTP@web.example.com", "--name-type", "hostbased"}, acceptor...)...)
		login := r.ok(t, "LOGIN")
		if login["client"] != svc {
			t.Errorf("keytab login TGT for %s, want %s", login["client"], svc)
		}
		requireFlags(t, "TGT", login["flags"], "forwardable", "initial")
		if acc := r.ok(t, "ACCEPT"); acc["src"] != svc || acc["deleg"] != "false" {
			t.Errorf("the service saw %v; want src=%s deleg=false", acc, svc)
		}
		requireLog(t, r, asIssue+q(svc+" for "+krbtgt), tgsIssu+q(svc+" for "+svc))
	})

	t.Run("tcp_only", func(t *testing.T) {
		// Java sends over TCP when the request is longer than
		// udp_preference_limit bytes (KdcComm: useTCP = len > limit), so 1
		// means TCP for everything; its default is 1465.
		tcp := krb5ConfVariant(t, n, "krb5-tcp.conf", "udp_preference_limit = 1")
		r := mustJava(t, n, java, tcp, pw, append([]string{"--principal", user, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased", "--deleg"}, acceptor...)...)
		delegation(t, r, user, svc)
		if !strings.Contains(r.logs, "transport=tcp") || strings.Contains(r.logs, "transport=udp") {
			t.Errorf("with udp_preference_limit = 1 every request must arrive over TCP:\n%s", r.logs)
		}
	})

	t.Run("renewable", func(t *testing.T) {
		// refresh() is a TGS-REQ with RENEW and RENEWABLE.
		r := mustJava(t, n, java, renewConf, pw, "--principal", user, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased", "--deleg", "--renew")
		login := r.ok(t, "LOGIN")
		requireFlags(t, "TGT", login["flags"], "forwardable", "renewable", "initial", "pre-authent")
		if login["renewable-for"] != "172800s" {
			t.Errorf("TGT renewable for %s with renew_lifetime = 2d, want 172800s", login["renewable-for"])
		}
		rn := r.ok(t, "RENEW")
		requireFlags(t, "renewed TGT", rn["flags"], "forwardable", "renewable")
		if rn["server"] != krbtgt || rn["authtime-kept"] != "true" {
			t.Errorf("renewed TGT: %v; want server %s and the original authtime", rn, krbtgt)
		}
		r.ok(t, "TICKET")
		requireLog(t, r, tgsIssu+q(user+" for "+krbtgt))
	})

	t.Run("renewable_disallowed", func(t *testing.T) {
		// A Java user whose krb5.conf sets renew_lifetime (Hadoop and
		// Cloudera templates do) and whose principal may not have
		// renewable tickets must get a TGT or a refusal by name (older MIT
		// releases: KDC_ERR_POLICY "RENEWABLE NOT ALLOWED", which Java
		// shows as "KDC policy rejects request (12)"), never a reply Java
		// calls forged. (Current MIT drops the flag silently and fails Java;
		// kdcha returns the flag with renew-till = end time.)
		r := runJava(t, n, java, renewConf, testPW+"\n", false, "--principal", bob, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased")
		if strings.Contains(r.out, "Message stream modified") {
			t.Errorf("Java rejects the KDC's reply to a RENEWABLE request it may not grant:\n%s\nKDC log lines of the run:\n%s", r.out, r.logs)
		} else if r.code != 0 {
			t.Errorf("Java login with RENEWABLE for a principal without renewable tickets: exit %d\n%s", r.code, r.out)
		}
	})

	t.Run("renew_lifetime_shorter_than_lifetime", func(t *testing.T) {
		// Without ticket_lifetime Java asks till = 19700101000000Z (as long
		// as allowed) and rtime = now + renew_lifetime, and refuses a
		// renew-till past rtime. MIT then issues renew-till = rtime, before
		// the end time (kdc_get_ticket_renewtime).
		short := krb5ConfVariant(t, n, "krb5-short-renew.conf", "renew_lifetime = 1h")
		r := mustJava(t, n, java, short, pw, "--principal", user, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased")
		login := r.ok(t, "LOGIN")
		requireFlags(t, "TGT", login["flags"], "renewable")
		if rf, err := strconv.Atoi(strings.TrimSuffix(login["renewable-for"], "s")); err != nil || rf > 3600 {
			t.Errorf("TGT renewable for %s with renew_lifetime = 1h", login["renewable-for"])
		}
	})

	t.Run("proxiable_renewable_ok", func(t *testing.T) {
		// proxiable = true sets PROXIABLE (bit 3, echo-checked) in every
		// request Java sends; renewable = true sets RENEWABLE-OK, which
		// turns a till past the realm's 10 h into a renewable ticket.
		prox := krb5ConfVariant(t, n, "krb5-proxiable.conf", "proxiable = true", "renewable = true", "ticket_lifetime = 1d")
		r := mustJava(t, n, java, prox, pw, append([]string{"--principal", user, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased", "--deleg"}, acceptor...)...)
		login := r.ok(t, "LOGIN")
		requireFlags(t, "TGT", login["flags"], "forwardable", "proxiable", "renewable", "initial", "pre-authent")
		if login["lifetime"] != "36000s" {
			t.Errorf("TGT lifetime %s with ticket_lifetime = 1d, want the realm's 36000s", login["lifetime"])
		}
		requireFlags(t, "service ticket", r.ok(t, "TICKET")["flags"], "forwardable", "proxiable")
		delegation(t, r, user, svc)
	})

	t.Run("not_forwardable_no_delegation", func(t *testing.T) {
		// Java asks for FORWARDABLE (forwardable = true) but does not check
		// that bit: a client the KDC may not give forwardable tickets logs
		// in, and Java then quietly does not delegate.
		r := mustJava(t, n, java, conf, testPW+"\n", append([]string{"--principal", alice, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased", "--deleg"}, acceptor...)...)
		login := r.ok(t, "LOGIN")
		if hasFlag(login["flags"], "forwardable") {
			t.Errorf("TGT of a principal with --allow-forwardable=false: flags %s", login["flags"])
		}
		if in := r.ok(t, "INIT"); in["deleg"] != "false" {
			t.Errorf("Java delegated a non-forwardable TGT: %v", in)
		}
		if acc := r.ok(t, "ACCEPT"); acc["src"] != alice || acc["delegated-cred"] != "none" {
			t.Errorf("the service saw %v; want src=%s and no delegated credential", acc, alice)
		}
		requireLog(t, r, asIssue+q(alice+" for "+krbtgt), tgsIssu+q(alice+" for "+svc))
		if strings.Contains(r.logs, alice+" for "+krbtgt+`" exchange=TGS_REQ`) {
			t.Errorf("Java asked for a forwarded TGT from a non-forwardable one:\n%s", r.logs)
		}
	})

	t.Run("wrong_password", func(t *testing.T) {
		r := runJava(t, n, java, conf, "not-the-password\n", false, "--principal", user, "--password-stdin",
			"--service", "HTTP@web.example.com", "--name-type", "hostbased")
		if r.code != 2 || !strings.Contains(r.out, "FAIL LOGIN: javax.security.auth.login.LoginException: Pre-authentication information was invalid (24)") {
			t.Errorf("Java login with a wrong password: exit %d, want 2 and a LoginException for KDC_ERR_PREAUTH_FAILED (24):\n%s", r.code, r.out)
		}
		if strings.Contains(r.out, "Message stream modified") {
			t.Errorf("Java reports a protocol error for a wrong password:\n%s", r.out)
		}
		requireLog(t, r, q("KDC_ERR_PREAUTH_FAILED: "+user+" for "+krbtgt))
	})

	t.Run("unknown_service", func(t *testing.T) {
		r := runJava(t, n, java, conf, pw, false, "--principal", user, "--password-stdin",
			"--service", "HTTP@web1.example.com", "--name-type", "hostbased")
		if r.code != 1 || !strings.Contains(r.out, "Server not found in Kerberos database (7)") {
			t.Errorf("Java asking for an unknown service: exit %d, want 1 and KDC_ERR_S_PRINCIPAL_UNKNOWN (7):\n%s", r.code, r.out)
		}
		requireLog(t, r, q("KDC_ERR_S_PRINCIPAL_UNKNOWN: "+user+" for HTTP/web1.example.com@"+realm))
	})
}
