package db

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestMasterKeyCreateLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	mk, err := CreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != int64(stashSize) {
		t.Fatalf("stash mode %v size %d, want 0600 and %d", st.Mode().Perm(), st.Size(), stashSize)
	}
	sealed, err := mk.seal("alice@R", 18, 1, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := loaded.open("alice@R", 18, 1, sealed)
	if err != nil || string(pt) != "secret" {
		t.Fatalf("reloaded key opens to %q, %v", pt, err)
	}
	if _, err := CreateMasterKey(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateMasterKey over an existing stash: %v, want fs.ErrExist", err)
	}
}

func TestLoadMasterKeyRefuses(t *testing.T) {
	valid := append([]byte(stashMagic), stashVersion)
	valid = append(valid, bytes.Repeat([]byte{7}, masterKeyBytes)...)
	tests := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"group readable", valid, 0o640},
		{"world readable", valid, 0o604},
		{"short", valid[:stashSize-1], 0o600},
		{"long", append(bytes.Clone(valid), 0), 0o600},
		{"bad magic", append([]byte("XXXXXXX"), valid[7:]...), 0o600},
		{"future version", append(append([]byte(stashMagic), 3), valid[8:]...), 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, tt.data, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadMasterKey(path); !errors.Is(err, ErrMasterKey) {
				t.Fatalf("LoadMasterKey: %v, want ErrMasterKey", err)
			}
		})
	}
	if _, err := LoadMasterKey(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrMasterKey) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing stash: %v, want ErrMasterKey and fs.ErrNotExist", err)
	}
}

func TestSealBindsOwner(t *testing.T) {
	mk := testMasterKey(t)
	other := testMasterKey(t)
	sealed, err := mk.seal("alice@R", 18, 3, []byte("key material"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := mk.seal("alice@R", 18, 3, []byte("key material"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same key are identical: nonce not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		mk     *MasterKey
		owner  string
		etype  int32
		kvno   uint32
		sealed []byte
	}{
		{"other principal", mk, "mallory@R", 18, 3, sealed},
		{"other enctype", mk, "alice@R", 17, 3, sealed},
		{"other kvno", mk, "alice@R", 18, 4, sealed},
		{"other master key", other, "alice@R", 18, 3, sealed},
		{"tampered", mk, "alice@R", 18, 3, tampered},
		{"truncated", mk, "alice@R", 18, 3, sealed[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pt, err := tt.mk.open(tt.owner, tt.etype, tt.kvno, tt.sealed); err == nil {
				t.Fatalf("open succeeded: %q", pt)
			}
		})
	}
	if pt, err := mk.open("alice@R", 18, 3, sealed); err != nil || string(pt) != "key material" {
		t.Fatalf("genuine open: %q, %v", pt, err)
	}
}

// TestStashVersions checks the stash round trip of several versions and
// that a version-1 stash stays byte-identical to what earlier builds wrote.
func TestStashVersions(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, masterKeyBytes), bytes.Repeat([]byte{2}, masterKeyBytes)
	if got := encodeStash(map[uint32][]byte{1: k1}); !bytes.Equal(got, append(append([]byte(stashMagic), stashVersion), k1...)) {
		t.Fatalf("version 1 alone encodes as %x", got)
	}
	for _, keys := range []map[uint32][]byte{{1: k1, 2: k2}, {2: k2}} {
		got, err := parseStash(encodeStash(keys))
		if err != nil || len(got) != len(keys) || !bytes.Equal(got[2], k2) {
			t.Fatalf("round trip of %d keys: %v, %v", len(keys), got, err)
		}
	}
	path := filepath.Join(t.TempDir(), "master.key")
	if err := WriteSecretFile(path, encodeStash(map[uint32][]byte{1: k1, 2: k2})); err != nil {
		t.Fatal(err)
	}
	mk, err := LoadMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := mk.seal("alice@R", 18, 1, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sealedVersion(sealed); v != 2 {
		t.Fatalf("sealed with version %d, want the highest (2)", v)
	}
	old, _ := newKeyring("", map[uint32][]byte{1: k1})
	if _, err := old.open("alice@R", 18, 1, sealed); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("a keyring without version 2 opens it: %v", err)
	}
}

// FuzzParseStash: parsing never panics, and what parses encodes back to
// the same keys.
func FuzzParseStash(f *testing.F) {
	f.Add(encodeStash(map[uint32][]byte{1: bytes.Repeat([]byte{1}, masterKeyBytes)}))
	f.Add(encodeStash(map[uint32][]byte{1: bytes.Repeat([]byte{1}, masterKeyBytes), 7: bytes.Repeat([]byte{7}, masterKeyBytes)}))
	f.Add([]byte(stashMagic + "\x02\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseStash(data)
		if err != nil {
			return
		}
		again, err := parseStash(encodeStash(keys))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("re-encoded stash: %v, %v", again, err)
		}
		for v, k := range keys {
			if !bytes.Equal(again[v], k) {
				t.Fatalf("version %d changed in the round trip", v)
			}
		}
	})
}
