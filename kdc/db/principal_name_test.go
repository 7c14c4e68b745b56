package db

import (
	"errors"
	"strings"
	"testing"
)

func TestParseNameLimits(t *testing.T) {
	fqdn := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	for _, ok := range []string{
		"alice",
		"host/" + fqdn,
		"a/b/c/d/e/f/g/h",
		"josé",           // non-ASCII letters are fine
		"用户/服务器.example", // and other scripts
	} {
		if _, _, err := ParseName(ok, testRealm); err != nil {
			t.Errorf("ParseName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{
		"user\u202eevil",    // right-to-left override: displays as "userlive"
		"user\u2066x\u2069", // isolates
		"ad\u200bmin",       // zero-width space
		"\ufeffalice",       // BOM
		"alice\x7f",         // DEL
		"alice\u0085",       // C1 control (NEL)
		"alice\u00a0",       // no-break space
		"alice\u2028",       // line separator
		"a\xffb",            // not UTF-8
		"x@REALM\u202e",     // realm too
		"a/b/c/d/e/f/g/h/i",
		strings.Repeat("a", MaxComponentBytes+1),
		strings.Repeat("a/", 4) + strings.Repeat("b", MaxNameBytes),
	} {
		if _, _, err := ParseName(bad, testRealm); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ParseName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

// FuzzParseName: any accepted name round-trips through its canonical form
// and respects every limit.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"alice", "host/a.example@R", "user\u202eevil", "a//b", "@R", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		comps, realm, err := ParseName(name, testRealm)
		if err != nil {
			return
		}
		canon := strings.Join(comps, "/") + "@" + realm
		if len(comps) > MaxNameComponents || len(canon) > MaxNameBytes+len(testRealm)+1 {
			t.Fatalf("%q accepted beyond the limits", name)
		}
		c2, r2, err := ParseName(canon, "")
		if err != nil || r2 != realm || strings.Join(c2, "/") != strings.Join(comps, "/") {
			t.Fatalf("canonical %q of %q does not round-trip: %v", canon, name, err)
		}
	})
}
