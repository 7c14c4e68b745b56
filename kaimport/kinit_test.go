package kaimport

import (
	"strings"
	"testing"
	"time"
)

func TestParseKinit(t *testing.T) {
	for _, tc := range []struct {
		cmd               string // split on blanks, or a sh -c string after "sh -c "
		principal, keytab string
		env               string
		timeout           time.Duration
		ok                bool
	}{
		{cmd: "/usr/bin/kinit -kt /etc/k.keytab probe@EX.COM", principal: "probe@EX.COM", keytab: "/etc/k.keytab", ok: true},
		{cmd: "kinit -k -t FILE:/etc/k.keytab probe", principal: "probe", keytab: "/etc/k.keytab", ok: true},
		{cmd: "kinit -t/etc/k.keytab -k -c /tmp/cc probe@EX.COM", principal: "probe@EX.COM", keytab: "/etc/k.keytab", ok: true},
		{cmd: "/usr/bin/env KRB5_CONFIG=/etc/krb5-local.conf KRB5CCNAME=MEMORY: kinit -kt /k probe@EX.COM", principal: "probe@EX.COM", keytab: "/k", env: "KRB5_CONFIG=/etc/krb5-local.conf KRB5CCNAME=MEMORY:", ok: true},
		{cmd: "timeout 2 kinit -kt /k probe@EX.COM", principal: "probe@EX.COM", keytab: "/k", timeout: 2 * time.Second, ok: true},
		{cmd: "sh -c|KRB5_CONFIG=/etc/k.conf kinit -kt /k probe@EX.COM >/dev/null 2>&1 && kdestroy -q", principal: "probe@EX.COM", keytab: "/k", env: "KRB5_CONFIG=/etc/k.conf", ok: true},
		{cmd: "kinit -k probe@EX.COM"},                       // default keytab: unknown path
		{cmd: "kinit -kt /k"},                                // no principal
		{cmd: "kinit -kt /k a@EX.COM b@EX.COM"},              // two principals
		{cmd: "kinit -kt /k -S kadmin/admin probe@EX.COM"},   // -S changes what is checked
		{cmd: "kinit probe@EX.COM"},                          // password from a terminal
		{cmd: "env PATH=/x kinit -kt /k probe@EX.COM"},       // non-Kerberos environment
		{cmd: "sh -c|kinit -kt /k probe@EX.COM && klist -s"}, // another command
		{cmd: "/usr/local/bin/check_kdc.sh"},
	} {
		var argv []string
		if inner, ok := strings.CutPrefix(tc.cmd, "sh -c|"); ok {
			argv = []string{"/bin/sh", "-c", inner}
		} else {
			argv = strings.Fields(tc.cmd)
		}
		k, ok := parseKinit(argv)
		if ok != tc.ok {
			t.Errorf("%s: recognised %v, want %v", tc.cmd, ok, tc.ok)
			continue
		}
		if ok && (k.principal != tc.principal || k.keytab != tc.keytab || strings.Join(k.env, " ") != tc.env || k.timeout != tc.timeout) {
			t.Errorf("%s: got %+v", tc.cmd, k)
		}
	}
}
