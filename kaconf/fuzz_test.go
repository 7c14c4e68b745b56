package kaconf

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary text as a main file that may include a second
// one. Parse must not panic; every error is an *Error naming a file and a
// line; a parsed instance obeys keepalived's ranges.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../kaimport/testdata/seed/kdc1/keepalived.conf", "../kaimport/testdata/seed/kdc1/conf.d/checks.conf"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b), "")
		}
	}
	f.Add(instanceText(" advert_int 0.5\n version 3\n notify \"/bin/x 'a b' \\x41\"")+"include inc.conf\n", "vrrp_script s {\n script \"/bin/true\"\n}\n")
	f.Add("include inc.conf\n", "include inc.conf\n")
	f.Add("a {\n b { c\n}\n} \"\\\n", "@x y\n")
	f.Fuzz(func(t *testing.T, main, inc string) {
		m := memFS{"/etc/keepalived/inc.conf": inc}
		c, err := parseMem(t, main, m)
		if err != nil {
			for _, e := range leaves(err) {
				var pe *Error
				if !errors.As(e, &pe) || pe.Pos.File == "" || pe.Pos.Line < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		for _, in := range c.Instances {
			if in.VRID < 1 || in.VRID > 255 || in.Priority < 1 || in.Priority > 255 || (in.Version != 2 && in.Version != 3) || in.AdvertInt <= 0 {
				t.Fatalf("instance out of range: %+v", in)
			}
		}
	})
}
