package db

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestParseKeytabRoundTrip(t *testing.T) {
	p := &Principal{Name: "host/a@R", Aliases: []string{"host/b@R"}, Keys: []Key{
		{EType: 18, KVNO: 300, Value: bytes.Repeat([]byte{1}, 32)},
		{EType: 17, KVNO: 300, Value: bytes.Repeat([]byte{2}, 16)},
	}}
	b, err := MarshalKeytab([]*Principal{p}, time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	// A hole (a deleted entry, negative length) is skipped.
	holed := append(append([]byte{}, b[:2]...), 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0)
	holed = append(holed, b[2:]...)
	for _, kt := range [][]byte{b, holed} {
		es, err := ParseKeytab(kt)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 4 || es[0].Name != "host/a@R" || es[2].Name != "host/b@R" || es[0].Key.KVNO != 300 ||
			es[1].Key.EType != 17 || !bytes.Equal(es[1].Key.Value, p.Keys[1].Value) || !es[0].Timestamp.Equal(time.Unix(1000, 0)) {
			t.Fatalf("entries %+v", es)
		}
	}
	for _, bad := range [][]byte{nil, {5, 1}, {5, 2, 0, 0, 0, 9, 0}, b[:len(b)-1], append(bytes.Clone(b[:2]), 0x7f, 0, 0, 0)} {
		if _, err := ParseKeytab(bad); !errors.Is(err, errKeytab) {
			t.Errorf("% x: %v, want a malformed keytab", bad, err)
		}
	}
}

func TestAppendKeytab(t *testing.T) {
	key := func(kvno uint32, v byte) Key { return Key{EType: 18, KVNO: kvno, Value: bytes.Repeat([]byte{v}, 32)} }
	kt := func(keys ...Key) []byte {
		b, err := MarshalKeytab([]*Principal{{Name: "svc@R", Keys: keys}}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	old := kt(key(1, 1))
	merged, n, err := AppendKeytab(old, kt(key(1, 1), key(2, 2)))
	if err != nil || n != 1 {
		t.Fatalf("append: %d, %v", n, err)
	}
	es, err := ParseKeytab(merged)
	if err != nil || len(es) != 2 || es[0].Key.KVNO != 1 || es[1].Key.KVNO != 2 || !bytes.HasPrefix(merged, old) {
		t.Fatalf("merged %+v %v", es, err)
	}
	if _, _, err := AppendKeytab(old, kt(key(1, 9))); !errors.Is(err, ErrConflict) {
		t.Fatalf("another key at the same kvno: %v", err)
	}
	if _, _, err := AppendKeytab([]byte("junk"), old); !errors.Is(err, errKeytab) {
		t.Fatalf("junk existing keytab: %v", err)
	}
}

func TestKeysFromKeytab(t *testing.T) {
	var es []KeytabEntry
	for _, k := range []Key{
		{EType: 18, KVNO: 2, Value: bytes.Repeat([]byte{1}, 32)}, {EType: 17, KVNO: 2, Value: bytes.Repeat([]byte{2}, 16)},
		{EType: 18, KVNO: 3, Value: bytes.Repeat([]byte{3}, 32)}, {EType: 23, KVNO: 3, Value: bytes.Repeat([]byte{4}, 16)},
		{EType: 18, KVNO: 1, Value: bytes.Repeat([]byte{5}, 32)},
	} {
		es = append(es, KeytabEntry{Name: "HTTP/web@R", Key: k})
	}
	es = append(es, KeytabEntry{Name: "other@R", Key: Key{EType: 18, KVNO: 9, Value: make([]byte, 32)}})
	keys, prev, skipped, err := KeysFromKeytab(es, "HTTP/web@R")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].KVNO != 3 || keys[0].Salt != "RHTTPweb" || len(prev) != 2 || prev[0].KVNO != 2 || len(skipped) != 1 || skipped[0] != 23 {
		t.Fatalf("keys %+v previous %+v skipped %v", keys, prev, skipped)
	}
	if _, _, _, err := KeysFromKeytab(es, "nobody@R"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent principal: %v", err)
	}
}

func TestKeytabWithOptions(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "svc", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Rekey(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	read := func(opts KeytabOptions) []KeytabEntry {
		t.Helper()
		b, err := d.KeytabWith(opts, "svc")
		if err != nil {
			t.Fatal(err)
		}
		es, err := ParseKeytab(b)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	if es := read(KeytabOptions{EncTypes: []int32{18}}); len(es) != 1 || es[0].Key.EType != 18 || es[0].Key.KVNO != 2 {
		t.Fatalf("aes256 only: %+v", es)
	}
	es := read(KeytabOptions{KeepOld: true})
	if len(es) != 4 || es[0].Key.KVNO != 2 || es[3].Key.KVNO != 1 {
		t.Fatalf("keep old: %+v", es)
	}
	if _, err := d.KeytabWith(KeytabOptions{EncTypes: []int32{20}}, "svc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no key of the enctype: %v", err)
	}
	if _, err := d.KeytabWith(KeytabOptions{EncTypes: []int32{23}}, "svc"); !errors.Is(err, ErrUnsupportedEncType) {
		t.Fatalf("rc4: %v", err)
	}
	if et, err := EncTypeByName("AES256-CTS-HMAC-SHA1-96"); err != nil || et != 18 {
		t.Fatalf("by name: %d %v", et, err)
	}
	if _, err := EncTypeByName("rc4-hmac"); !errors.Is(err, ErrUnsupportedEncType) {
		t.Fatalf("rc4 by name: %v", err)
	}
}

// FuzzParseKeytab: no panic on any input; what parses re-encodes to
// entries that parse the same.
func FuzzParseKeytab(f *testing.F) {
	b, _ := MarshalKeytab([]*Principal{{Name: "a/b@R", Keys: []Key{{EType: 17, KVNO: 7, Value: make([]byte, 16)}}}}, time.Unix(5, 0))
	f.Add(b)
	f.Add([]byte{5, 2, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		es, err := ParseKeytab(in)
		if err != nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, keytabVersion)
		for _, e := range es {
			out = binary.BigEndian.AppendUint32(out, uint32(len(e.raw)))
			out = append(out, e.raw...)
		}
		again, err := ParseKeytab(out)
		if err != nil || len(again) != len(es) {
			t.Fatalf("re-encoded entries do not parse: %v", err)
		}
		for i := range es {
			if again[i].Name != es[i].Name || again[i].Key.KVNO != es[i].Key.KVNO || !bytes.Equal(again[i].Key.Value, es[i].Key.Value) {
				t.Fatalf("entry %d changed", i)
			}
		}
	})
}
