package main

import (
	"regexp"
	"strings"
	"testing"
)

const sha2EncTypes = "aes256-cts-hmac-sha384-192,aes128-cts-hmac-sha256-128"

// keysLine is `principal get`'s line of the key enctypes, when they are
// the SHA-2 pair.
var keysLine = regexp.MustCompile(`\nEnctypes:\s+aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128\n`)

// TestMITPrincipalEncTypes: a principal made with --enctypes gets keys of
// those enctypes only, MIT kinit uses them, and a password change keeps
// the set (admin set-password and MIT kpasswd alike); DES/3DES/RC4 are
// refused with the reason.
func TestMITPrincipalEncTypes(t *testing.T) {
	requireMITKpasswd(t)
	n := startDev(t, nil)
	const pw = "Sha2-Only-Passphrase-1"
	n.must(pw+"\n", kdchaBin, "principal", "add", "sha2user", "--password-file", "-", "--enctypes", sha2EncTypes)
	if out := n.kdcha("principal", "get", "sha2user"); !keysLine.MatchString(out) {
		t.Fatalf("principal get:\n%s", out)
	}
	n.kdcha("principal", "add", "HTTP/sha2.example.com", "--random-key", "--enctypes", "aes256-sha2")

	// kinit can only have derived the SHA-2 key: the principal has no other.
	kinitTrace := func(password string) string {
		t.Helper()
		env := n.env
		n.env = append(append([]string{}, env...), "KRB5_TRACE=/dev/stderr")
		defer func() { n.env = env }()
		return n.must(password+"\n", "kinit", "sha2user")
	}
	selected := regexp.MustCompile(`Selected etype info: etype (aes256-sha2|aes256-cts-hmac-sha384-192),`)
	if out := kinitTrace(pw); !selected.MatchString(out) {
		t.Fatalf("kinit did not use the SHA-2 key:\n%s", out)
	}
	n.must("", "kvno", "HTTP/sha2.example.com")
	out := n.must("", "klist", "-e")
	if !regexp.MustCompile(`HTTP/sha2.example.com@DEV.KDCHA.TEST\n\s+(renew until [^,]+, )?Etype \(skey, tkt\): aes256-cts-hmac-sha384-192, aes256-cts-hmac-sha384-192`).MatchString(out) {
		t.Fatalf("klist -e: the service ticket is not SHA-2:\n%s", out)
	}

	// A password change (admin) keeps the enctype set.
	const pw2 = "Sha2-Only-Passphrase-2"
	n.must(pw2+"\n", kdchaBin, "principal", "set-password", "sha2user", "--password-file", "-")
	if out := n.kdcha("principal", "get", "sha2user"); !regexp.MustCompile(`Key version:\s+2\n`).MatchString(out) ||
		!keysLine.MatchString(out) || strings.Contains(out, "sha1") {
		t.Fatalf("after set-password:\n%s", out)
	}
	if out := kinitTrace(pw2); !selected.MatchString(out) {
		t.Fatalf("kinit after the password change did not use the SHA-2 key:\n%s", out)
	}

	// So does a change by the user through MIT kpasswd.
	const pw3 = "Sha2-Only-Passphrase-3"
	if out := n.must(pw2+"\n"+pw3+"\n"+pw3+"\n", "kpasswd", "sha2user"); !strings.Contains(out, "Password changed") {
		t.Fatalf("kpasswd:\n%s", out)
	}
	if out := n.kdcha("principal", "get", "sha2user"); !regexp.MustCompile(`Key version:\s+3\n`).MatchString(out) || !keysLine.MatchString(out) {
		t.Fatalf("after kpasswd:\n%s", out)
	}
	if out := kinitTrace(pw3); !selected.MatchString(out) {
		t.Fatalf("kinit after kpasswd did not use the SHA-2 key:\n%s", out)
	}

	// modify changes the set for the next rekey; "" goes back to the
	// realm's.
	n.kdcha("principal", "modify", "HTTP/sha2.example.com", "--enctypes", "aes128-sha2")
	n.kdcha("principal", "rekey", "HTTP/sha2.example.com")
	if out := n.kdcha("principal", "get", "HTTP/sha2.example.com"); !regexp.MustCompile(`\nEnctypes:\s+aes128-cts-hmac-sha256-128\n`).MatchString(out) {
		t.Fatalf("after modify --enctypes aes128-sha2 and rekey:\n%s", out)
	}
	n.kdcha("principal", "modify", "HTTP/sha2.example.com", "--enctypes", "")
	n.kdcha("principal", "rekey", "HTTP/sha2.example.com")
	if out := n.kdcha("principal", "get", "HTTP/sha2.example.com"); !regexp.MustCompile(`\nEnctypes:\s+aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96\n`).MatchString(out) ||
		strings.Contains(out, "Enctypes of new keys") {
		t.Fatalf("after modify --enctypes \"\" and rekey:\n%s", out)
	}

	for _, weak := range []string{"rc4-hmac", "des3-cbc-sha1", "des-cbc-crc"} {
		out, err := n.run("", kdchaBin, "principal", "add", "weak", "--random-key", "--enctypes", weak)
		if err == nil || !strings.Contains(out, "DES, 3DES and RC4 are broken and kdcha refuses them") {
			t.Fatalf("--enctypes %s: err=%v\n%s", weak, err, out)
		}
	}
}

// TestMITDevEncTypes: `kdcha dev --enctypes` makes krbtgt and the user
// with SHA-2 keys, so MIT kinit's TGT is SHA-2 end to end.
func TestMITDevEncTypes(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil, "--enctypes", sha2EncTypes)
	n.kinit()
	out := n.must("", "klist", "-e")
	if !regexp.MustCompile(`krbtgt/DEV.KDCHA.TEST@DEV.KDCHA.TEST\n\s+(renew until [^,]+, )?Etype \(skey, tkt\): aes256-cts-hmac-sha384-192, aes256-cts-hmac-sha384-192`).MatchString(out) {
		t.Fatalf("klist -e after kinit from kdcha dev --enctypes:\n%s", out)
	}
	if out := n.kdcha("principal", "get", "user"); !keysLine.MatchString(out) {
		t.Fatalf("principal get user:\n%s", out)
	}
	out, err := n.run("", kdchaBin, "dev", "--data-dir", t.TempDir(), "--enctypes", "arcfour-hmac")
	if err == nil || !strings.Contains(out, "--enctypes") || !strings.Contains(out, "DES, 3DES and RC4 are broken") {
		t.Fatalf("kdcha dev --enctypes arcfour-hmac: err=%v\n%s", err, out)
	}
}
