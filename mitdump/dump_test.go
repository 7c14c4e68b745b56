package mitdump

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
)

func readGolden(t testing.TB) ([]byte, *Dump, MasterKey) {
	t.Helper()
	raw, err := os.ReadFile("testdata/mit.dump")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	stash, err := os.ReadFile("testdata/mit.stash")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := ReadStash(stash)
	if err != nil {
		t.Fatal(err)
	}
	return raw, d, mk
}

func find(t *testing.T, d *Dump, name string) *Principal {
	t.Helper()
	for i := range d.Principals {
		if d.Principals[i].Name == name {
			return &d.Principals[i]
		}
	}
	t.Fatalf("%s not in dump", name)
	return nil
}

// The golden dump from MIT kdb5_util parses and prints back byte for byte.
func TestParseWriteRoundTrip(t *testing.T) {
	raw, d, _ := readGolden(t)
	if len(d.Principals) != 11 || len(d.Policies) != 1 {
		t.Fatalf("%d principals, %d policies; want 11, 1", len(d.Principals), len(d.Policies))
	}
	var out bytes.Buffer
	if err := Write(&out, d); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), raw) {
		t.Fatalf("round trip differs:\n%s\nwant\n%s", out.Bytes(), raw)
	}
}

func TestFields(t *testing.T) {
	_, d, _ := readGolden(t)
	dave := find(t, d, "dave@MIT.TEST")
	if dave.MaxLife != 7200 || dave.MaxRenewableLife != 259200 || dave.Expiration != 1893456000 ||
		dave.PasswordExpiration != 1577836800 || dave.Attributes != 0x40 {
		t.Errorf("dave = %+v", dave)
	}
	if p := find(t, d, "carol@MIT.TEST"); p.Attributes != 0x2 {
		t.Errorf("carol attributes %#x, want disallow_forwardable", p.Attributes)
	}
	if pol, err := find(t, d, "bob@MIT.TEST").PolicyName(); err != nil || pol != "strong" {
		t.Errorf("bob policy %q, %v", pol, err)
	}
	if pol, err := find(t, d, "alice@MIT.TEST").PolicyName(); err != nil || pol != "" {
		t.Errorf("alice policy %q, %v", pol, err)
	}
	p := d.Policies[0]
	if p.Name != "strong" || p.MinLength != 10 || p.HistoryNum != 3 || p.MinClasses != 2 ||
		p.MaxLife != 90*86400 || p.MaxFail != 5 || p.LockoutDuration != 600 || !p.V111 {
		t.Errorf("policy = %+v", p)
	}
	if svc := find(t, d, "host/svc.mit.test@MIT.TEST"); svc.Keys[0].KVNO != 2 {
		t.Errorf("service kvno %d, want 2", svc.Keys[0].KVNO)
	}
}

// Keys decrypt with the stash, match string-to-key of the password with
// the salt MIT recorded, and the master password gives the stash's key.
func TestMasterKeyAndSalts(t *testing.T) {
	_, d, mk := readGolden(t)
	km, err := FindMasterKey(d, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	if err := mk.Check(km); err != nil {
		t.Fatal(err)
	}
	fromPW, err := MasterKeyFromPassword("masterpw123", km)
	if err != nil || !bytes.Equal(fromPW.Key, mk.Key) || fromPW.EType != mk.EType {
		t.Fatalf("master key from password: %v", err)
	}
	if def, err := DefaultMasterKeyFromPassword("masterpw123", "MIT.TEST"); err != nil || !bytes.Equal(def.Key, mk.Key) {
		t.Fatalf("default master key from password: %v", err)
	}
	if _, err := MasterKeyFromPassword("wrong", km); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("wrong master password: %v", err)
	}
	for _, c := range []struct{ name, pw, salt0, salt1 string }{
		{"alice@MIT.TEST", "alicepassword1", "MIT.TESTalice", "MIT.TESTalice"},
		{"erin@MIT.TEST", "erinpassword1", "erin", "MIT.TEST"}, // norealm, onlyrealm
	} {
		p := find(t, d, c.name)
		for i, want := range []string{c.salt0, c.salt1} {
			kd := p.Keys[i]
			salt, err := kd.SaltBytes(p.Name)
			if err != nil || string(salt) != want {
				t.Fatalf("%s key %d salt %q, %v; want %q", c.name, i, salt, err, want)
			}
			key, err := mk.Decrypt(kd)
			if err != nil {
				t.Fatal(err)
			}
			et, _ := crypto.GetEtype(int32(kd.EType))
			derived, _ := et.StringToKey(c.pw, want, et.GetDefaultStringToKeyParams())
			if !bytes.Equal(key, derived) {
				t.Errorf("%s key %d (etype %d) is not string-to-key of the password", c.name, i, kd.EType)
			}
			// Encrypting again gives key data that decrypts to the same key.
			again, err := mk.Encrypt(p.Name, int32(kd.EType), kd.KVNO, key, salt)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := mk.Decrypt(again); err != nil || !bytes.Equal(back, key) {
				t.Errorf("re-encrypted key does not decrypt: %v", err)
			}
			if s, _ := again.SaltBytes(p.Name); string(s) != want {
				t.Errorf("re-encrypted salt %q, want %q", s, want)
			}
		}
	}
	bad := mk
	bad.Key = bytes.Repeat([]byte{1}, len(mk.Key))
	if err := bad.Check(km); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("wrong stash accepted: %v", err)
	}
}

func TestKADMDataRoundTrip(t *testing.T) {
	for _, pol := range []string{"", "a", "abcd", "strong"} {
		p := Principal{TLData: []TLData{{Type: TLKADMData, Data: KADMData(pol)}}}
		if got, err := p.PolicyName(); err != nil || got != pol {
			t.Errorf("policy %q came back as %q, %v", pol, got, err)
		}
	}
}

// Malformed dumps are refused with the line of the bad record.
func TestParseRefusesMalformed(t *testing.T) {
	raw, _, _ := readGolden(t)
	lines := strings.SplitAfter(string(raw), "\n")
	alice := lines[2]
	with := func(line string) string { return lines[0] + lines[1] + line }
	cases := []struct {
		name, in string
		line     int
	}{
		{"empty", "", 1},
		{"other header", "kdb5_util load_dump version 6\n", 1},
		{"unknown record", with("frob\t1\n"), 3},
		{"no trailer", with(strings.Replace(alice, ";", "", 1)), 3},
		{"short name", with(strings.Replace(alice, "\t14\t", "\t13\t", 1)), 3},
		{"odd hex", with(strings.Replace(alice, "\t24\t12345c01", "\t25\t12345c01", 1)), 3},
		{"bad hex", with(strings.Replace(alice, "12345c01", "12345z01", 1)), 3},
		{"key version 3", with(strings.Replace(alice, "\t1\t1\t18\t", "\t3\t1\t18\t", 1)), 3},
		{"too many keys", with(strings.Replace(alice, "\t14\t4\t3\t0\t", "\t14\t4\t4\t0\t", 1)), 3},
		{"extra field", with(strings.Replace(alice, ";", "\t7;", 1)), 3},
		{"policy short", with("policy\tp\t1\t2\n"), 3},
		{"policy tl count", with("policy\tp\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-\t2\n"), 3},
		{"long name", with("princ\t38\t1024\t0\t0\t0\t" + strings.Repeat("a", 1022) + "@R\t0\t0\t0\t0\t0\t0\t0\t0\t-1;\n"), 3},
		{"long line", with("princ\t" + strings.Repeat("1", MaxLineBytes) + "\n"), 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(c.in))
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if se.Line != c.line {
				t.Errorf("line %d, want %d (%v)", se.Line, c.line, err)
			}
		})
	}
	// Lines after a good one keep counting.
	if _, err := Parse(strings.NewReader(lines[0] + lines[1] + alice + "x\n")); err == nil || !strings.HasPrefix(err.Error(), "line 4:") {
		t.Errorf("err = %v, want line 4", err)
	}
}

func TestReadStashOldFormat(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b := []byte{18, 0, 32, 0, 0, 0}
	mk, err := ReadStash(append(b, key...))
	if err != nil || mk.EType != 18 || !bytes.Equal(mk.Key, key) {
		t.Fatalf("%+v, %v", mk, err)
	}
	if _, err := ReadStash(append(b, key[:5]...)); err == nil {
		t.Fatal("truncated stash accepted")
	}
}
