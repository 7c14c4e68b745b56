package kaimport

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/kaconf"
)

// FuzzConvert converts arbitrary keepalived text. Convert must not panic,
// and whatever it accepts must render to YAML that decodes strictly and
// passes every section's validation (the promise that a converted file
// loads).
func FuzzConvert(f *testing.F) {
	for _, p := range []string{"testdata/seed/kdc1/keepalived.conf", "testdata/seed/kdc1/conf.d/checks.conf"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("vrrp_script c {\n script \"sh -c 'kinit -kt /k p@R && kdestroy'\"\n weight 3 reverse\n}\nvrrp_instance V {\n interface e\n virtual_router_id 1\n virtual_ipaddress {\n  2001:db8::1\n }\n track_script {\n  c weight -2\n }\n notify \"/x 'a b'\" u g\n}\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := kaconf.Parse("k.conf", kaconf.Options{
			Open: func(name string) (io.ReadCloser, error) {
				if name != "k.conf" {
					return nil, os.ErrNotExist
				}
				return io.NopCloser(strings.NewReader(text)), nil
			},
			Glob: func(string) ([]string, error) { return nil, nil },
		})
		if err != nil {
			return
		}
		r, err := Convert(c, Options{Realm: "EXAMPLE.COM"})
		if err != nil {
			return
		}
		b, err := r.YAML("k.conf")
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		var doc document
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("decode the output: %v\n%s", err, b)
		}
		back := &Result{Realm: doc.Realm, VRRP: doc.VRRP, Health: orZero(doc.Health), Notify: orZero(doc.Notify)}
		if err := back.validate(); err != nil {
			t.Fatalf("the output does not validate: %v\n%s", err, b)
		}
	})
}
