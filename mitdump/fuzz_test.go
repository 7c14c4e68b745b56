package mitdump

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse: any input either parses into records that Write prints and
// Parse reads back to the same records, or is refused with a SyntaxError;
// it never panics.
func FuzzParse(f *testing.F) {
	raw, err := os.ReadFile("testdata/mit.dump")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(Header + "\npolicy\tp\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"))
	f.Add([]byte(Header + "\nprinc\t38\t3\t0\t0\t0\ta@R\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"))
	f.Add([]byte(Header + "\nprinc\t38\t3\t2\t0\t0\ta@R\t0\t0\t0\t0\t0\t0\t0\t0\t2\t8\tc8d6136b6b405200\t1\t4\tc8d6136b\t-1;\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := Parse(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v is not a syntax error", err)
			}
			return
		}
		var out bytes.Buffer
		if err := Write(&out, d); err != nil {
			t.Fatal(err)
		}
		d2, err := Parse(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("written dump does not parse: %v\n%s", err, out.Bytes())
		}
		var out2 bytes.Buffer
		if err := Write(&out2, d2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatalf("not stable:\n%s\n%s", out.Bytes(), out2.Bytes())
		}
		for i := range d.Principals {
			p := &d.Principals[i]
			p.PolicyName()         // must not panic
			p.LastPasswordChange() // must not panic
		}
	})
}

// FuzzReadStash: arbitrary stash bytes never panic.
func FuzzReadStash(f *testing.F) {
	if b, err := os.ReadFile("testdata/mit.stash"); err == nil {
		f.Add(b)
	}
	f.Add([]byte{18, 0, 2, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) { ReadStash(in) })
}
