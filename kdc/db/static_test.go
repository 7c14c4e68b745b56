package db

import (
	"bytes"
	"errors"
	"testing"
)

func TestStaticReader(t *testing.T) {
	keys, err := PasswordKeys(alice, "correct horse battery", DefaultEncTypes, 3)
	if err != nil {
		t.Fatal(err)
	}
	derived, _ := passwordKeys("correct horse battery", []string{"alice"}, testRealm, DefaultEncTypes)
	if len(keys) != 2 || keys[0].KVNO != 3 || keys[0].Salt != testRealm+"alice" || !bytes.Equal(keys[0].Value, derived[0].value) {
		t.Fatalf("PasswordKeys = %+v", keys)
	}
	if _, err := PasswordKeys(alice, "pw", []int32{23}, 1); !errors.Is(err, ErrUnsupportedEncType) {
		t.Fatalf("RC4 PasswordKeys: %v", err)
	}

	a := &Principal{Name: alice, Keys: keys}
	z := &Principal{Name: zk, Aliases: []string{zkIP}}
	r, err := NewStaticReader(testRealm, a, z)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := r.Lookup(zkIP); !ok || p != z {
		t.Fatal("alias lookup failed")
	}
	if p, ok := r.Lookup(alice); !ok || p != a || r.Realm() != testRealm {
		t.Fatal("name lookup failed")
	}
	if s := r.Similar("zookeeper/10.0.0.6@"+testRealm, 1); len(s) != 1 || s[0] != zkIP {
		t.Fatalf("Similar = %v", s)
	}

	bad := []struct {
		name string
		ps   []*Principal
		err  error
	}{
		{"duplicate", []*Principal{a, {Name: alice}}, ErrExists},
		{"alias collides", []*Principal{z, {Name: "x@" + testRealm, Aliases: []string{zkIP}}}, ErrExists},
		{"other realm", []*Principal{{Name: "bob@OTHER.ORG"}}, ErrInvalidName},
		{"no realm", []*Principal{{Name: "bob"}}, ErrInvalidName},
	}
	for _, tt := range bad {
		if _, err := NewStaticReader(testRealm, tt.ps...); !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
	}
}
