package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAgentKeepalivedAuthMismatch replays seed 004's setup: a keepalived
// with `authentication { auth_type PASS }` next to a kdcha agent. Each drops
// the other's adverts and both hold the VIP. kdcha must say so: a warning
// naming the peer in its log and a line in `kdcha status`. Then the
// README's migration step (remove authentication on the keepalived side)
// ends the split brain.
func TestAgentKeepalivedAuthMismatch(t *testing.T) {
	requireKeepalived(t)
	t.Parallel()
	l := newHALAN(t)
	const kdchaAddr, kaAddr = "192.0.2.1", "192.0.2.2"
	n := l.addNode("kdcha", kdchaAddr, 150, vrrpExtra(2, time.Second, kdchaAddr))
	ka := l.addKeepalived("keepalived", kaAddr, kaConfig{version: 2, interval: time.Second, priority: 100, authPass: "s3cret"})
	n.start(t)
	ka.start(t)

	status := func() string {
		cmd := exec.Command(kdchaBin, "status")
		cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(l.dir, n.name, "admin.sock"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kdcha status: %v\n%s", err, out)
		}
		return string(out)
	}
	// keepalived becomes MASTER after its down interval (3.6 s) and
	// advertises with a password that kdcha cannot use.
	line := regexp.MustCompile(`VI_KDC: adverts dropped: auth type mismatch from ` + regexp.QuoteMeta(kaAddr) + ` \((\d+), last `)
	for start := time.Now(); !line.MatchString(status()); time.Sleep(200 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("after 20 s kdcha status shows no dropped adverts from %s:\n%s", kaAddr, status())
		}
	}
	t.Logf("kdcha status:\n%s", status())
	// The agent counts the dropped advert (what status shows) before it
	// logs the warning: wait for the line rather than read the log once.
	warned := func() bool {
		for _, l := range strings.Split(n.logs.String(), "\n") {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, "authentication type mismatch") && strings.Contains(l, "src="+kaAddr) {
				return true
			}
		}
		return false
	}
	for start := time.Now(); !warned(); time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("kdcha did not warn about the authentication type mismatch from %s", kaAddr)
		}
	}
	t.Logf("split brain: VIP on kdcha %v, on keepalived %v", nsHoldsVIP(n.ns), nsHoldsVIP(ka.ns))

	// The migration step: keepalived without authentication hears kdcha's
	// higher priority and gives the VIP up.
	ka.stop(t)
	conf, err := os.ReadFile(ka.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = regexp.MustCompile(`(?s)  authentication \{.*?\n  \}\n`).ReplaceAll(conf, nil)
	if err := os.WriteFile(ka.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	ka.start(t)
	l.waitSoleHolder(10*time.Second, vipPeer{"kdcha", n.ns}, vipPeer{"kdcha", n.ns}, vipPeer{"keepalived", ka.ns})
}
