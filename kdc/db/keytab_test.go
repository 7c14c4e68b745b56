package db

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

func TestMarshalKeytabGolden(t *testing.T) {
	p := &Principal{
		Name: "host/a@R",
		Keys: []Key{{EType: 17, KVNO: 258, Value: bytes.Repeat([]byte{0xab}, 16)}},
	}
	got, err := MarshalKeytab([]*Principal{p}, time.Unix(0x01020304, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x05, 0x02, // version
		0, 0, 0, 47, // entry size
		0, 2, // components
		0, 1, 'R',
		0, 4, 'h', 'o', 's', 't',
		0, 1, 'a',
		0, 0, 0, 1, // KRB5_NT_PRINCIPAL
		1, 2, 3, 4, // timestamp
		2,     // kvno mod 256
		0, 17, // enctype
		0, 16, // key length
	}
	want = append(want, bytes.Repeat([]byte{0xab}, 16)...)
	want = append(want, 0, 0, 1, 2) // 32-bit kvno
	if !bytes.Equal(got, want) {
		t.Fatalf("keytab\n got %x\nwant %x", got, want)
	}
}

func TestKeytab(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("correct horse battery")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, CreateRequest{Name: zk, RandomKey: true, Aliases: []string{zkIP}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ { // kvno beyond 8 bits
		if _, err := d.Rekey(ctx, zk); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "service.keytab")
	// Naming the alias exports the principal once, under both names.
	b, err := d.Keytab("alice", zkIP, zk)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSecretFile(path, b); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keytab mode %v, %v; want 0600", st.Mode(), err)
	}

	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatalf("gokrb5 cannot parse the keytab: %v", err)
	}
	type entry struct {
		name  string
		etype int32
		kvno  uint32
	}
	var got []entry
	for _, e := range kt.Entries {
		got = append(got, entry{strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm, e.Key.KeyType, e.KVNO})
		if e.Principal.NameType != 1 {
			t.Errorf("name type %d, want 1", e.Principal.NameType)
		}
		p, _ := d.Lookup(got[len(got)-1].name)
		if k, _ := p.KeyFor(e.Key.KeyType); !bytes.Equal(k.Value, e.Key.KeyValue) {
			t.Errorf("%v: key differs from the database", got[len(got)-1])
		}
	}
	want := []entry{
		{alice, 18, 1}, {alice, 17, 1},
		{zk, 18, 301}, {zk, 17, 301},
		{zkIP, 18, 301}, {zkIP, 17, 301},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("entries %v, want %v", got, want)
	}

	if klist, err := exec.LookPath("klist"); err == nil {
		out, err := exec.Command(klist, "-k", "-e", "-K", path).CombinedOutput()
		if err != nil {
			t.Fatalf("klist: %v\n%s", err, out)
		}
		for _, line := range []string{
			"1 " + alice + " (aes256-cts-hmac-sha1-96)",
			"301 " + zkIP + " (aes128-cts-hmac-sha1-96)",
		} {
			if !strings.Contains(string(out), line) {
				t.Errorf("klist output lacks %q:\n%s", line, out)
			}
		}
	}

	// An existing file is never overwritten.
	before, _ := os.ReadFile(path)
	if err := WriteSecretFile(path, []byte("x")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("write over existing file: %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("existing keytab was modified")
	}
	// An unknown name gives nothing.
	if b, err := d.Keytab("alice", "nobody"); !errors.Is(err, ErrNotFound) || b != nil {
		t.Fatalf("keytab with unknown name: %d bytes, %v", len(b), err)
	}
	if _, err := d.Keytab(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("keytab of nothing: %v", err)
	}
}
