package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKeytabRotationRoundTrip exports a service keytab, rekeys, and
// appends the new keys with the previous kvno kept (MIT klist -ke shows
// both kvnos, the first entries once); a ticket obtained before the
// rekey and one after both verify against the file (MIT kvno -k).
// --enctypes selects keys; --keys-from-keytab moves a service whose
// keytab MIT's ktutil wrote, and kvno -k verifies its tickets.
func TestKeytabRotationRoundTrip(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	dir := t.TempDir()
	kt := filepath.Join(dir, "web.keytab")
	svc := "HTTP/web.dev.kdcha.test"
	n.kdcha("principal", "add", svc, "--random-key")
	n.kdcha("keytab", "export", svc, "-o", kt)
	n.kinit()
	n.must("", "kvno", "-k", kt, svc)

	n.kdcha("principal", "rekey", svc)
	if out := n.kdcha("keytab", "export", svc, "-o", kt, "--append", "--keep-old"); !strings.Contains(out, "added 2 entries") {
		t.Fatalf("append: %s", out)
	}
	out := n.must("", "klist", "-ke", kt)
	for _, want := range []string{"1 " + svc + "@DEV.KDCHA.TEST (aes256-cts-hmac-sha1-96)", "2 " + svc + "@DEV.KDCHA.TEST (aes256-cts-hmac-sha1-96)",
		"2 " + svc + "@DEV.KDCHA.TEST (aes128-cts-hmac-sha1-96)"} {
		if strings.Count(out, want) != 1 {
			t.Fatalf("klist -ke lacks (or repeats) %q:\n%s", want, out)
		}
	}
	// The cached kvno 1 ticket and a fresh kvno 2 one both verify.
	n.must("", "kvno", "-k", kt, svc)
	n.kinit()
	if out := n.must("", "kvno", "-k", kt, svc); !strings.Contains(out, "kvno = 2") {
		t.Fatalf("kvno after the rekey: %s", out)
	}

	only := filepath.Join(dir, "aes256.keytab")
	n.kdcha("keytab", "export", svc, "-o", only, "--enctypes", "aes256-cts-hmac-sha1-96")
	if out := n.must("", "klist", "-ke", only); strings.Contains(out, "aes128") || !strings.Contains(out, "aes256") {
		t.Fatalf("--enctypes aes256 only:\n%s", out)
	}

	// A service moving in with the keytab it already has (kvno 5).
	moved := filepath.Join(dir, "moved.keytab")
	other := "host/moved.dev.kdcha.test"
	n.must("addent -password -p "+other+"@DEV.KDCHA.TEST -k 5 -e aes256-cts-hmac-sha1-96\nSome-Service-Secret-1\nwkt "+moved+"\nquit\n", "ktutil")
	if out := n.kdcha("principal", "add", other, "--keys-from-keytab", moved); !strings.Contains(out, "kvno 5") {
		t.Fatalf("add --keys-from-keytab: %s", out)
	}
	if out := n.must("", "kvno", "-k", moved, other); !strings.Contains(out, "kvno = 5") {
		t.Fatalf("kvno with the service's own keytab: %s", out)
	}
}
