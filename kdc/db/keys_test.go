package db

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

func TestCheckPassword(t *testing.T) {
	classes := PasswordPolicy{Name: "staff", MinLength: 4, MinClasses: 3}
	tests := []struct {
		name     string
		pol      PasswordPolicy
		comps    []string
		password string
		reason   string // substring of the error; "" means accepted
	}{
		{"empty", BuiltinDefaultPolicy, []string{"alice"}, "", "minlength: empty"},
		{"seven chars", BuiltinDefaultPolicy, []string{"alice"}, "Tr0ub4d", "default: minlength: 7 characters, at least 8"},
		{"seven runes, more bytes", BuiltinDefaultPolicy, []string{"alice"}, "ééééééé", "at least 8"},
		{"equal to name", BuiltinDefaultPolicy, []string{"alice"}, "alice", "at least 8"},
		{"common", BuiltinDefaultPolicy, []string{"alice"}, "Password123", "dict: one of the most common"},
		{"common allowed", PasswordPolicy{Name: "lax", AllowCommon: true}, []string{"alice"}, "Password123", ""},
		{"two classes", classes, []string{"alice"}, "abcdEFGH", "staff: minclasses: 2 character classes, at least 3"},
		{"three classes", classes, []string{"alice"}, "abcdEF-H", ""},
		{"non-ASCII is a class", classes, []string{"alice"}, "abcdEFé", ""},
		{"short under own policy", classes, []string{"alice"}, "aB1", "staff: minlength: 3 characters, at least 4"},
		{"equal to long name", BuiltinDefaultPolicy, []string{"administrator"}, "Administrator", "princ: contains the principal name"},
		{"contains name", BuiltinDefaultPolicy, []string{"alice"}, "xxALICE123", "principal name"},
		{"contains service name", BuiltinDefaultPolicy, []string{"zookeeper", "zk1"}, "myZookeeperPw", "principal name"},
		{"instance may appear", BuiltinDefaultPolicy, []string{"alice", "admin"}, "admin-pass-42", ""},
		{"eight chars", BuiltinDefaultPolicy, []string{"alice"}, "Tr0ub4d!", ""},
		{"long passphrase", BuiltinDefaultPolicy, []string{"bob"}, "correct horse battery staple", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pol.CheckPassword(tt.comps, tt.password)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want ErrWeakPassword mentioning %q", err, tt.reason)
			}
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Fatalf("error %q echoes the password", err)
			}
		})
	}
}

func TestValidateEncTypes(t *testing.T) {
	tests := []struct {
		etypes []int32
		ok     bool
	}{
		{DefaultEncTypes, true},
		{[]int32{17, 18, 19, 20}, true},
		{[]int32{20}, true},
		{nil, false},
		{[]int32{18, 18}, false},
		{[]int32{16}, false}, // 3DES
		{[]int32{23}, false}, // RC4
		{[]int32{3}, false},  // DES
		{[]int32{18, 99}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.etypes), func(t *testing.T) {
			err := validateEncTypes(tt.etypes)
			if tt.ok != (err == nil) {
				t.Fatalf("validateEncTypes = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrUnsupportedEncType) {
				t.Fatalf("error %v does not wrap ErrUnsupportedEncType", err)
			}
		})
	}
}

func TestRandomKeys(t *testing.T) {
	a, err := randomKeys([]string{"host", "a.example.com"}, testRealm, []int32{18, 17, 20, 19})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := randomKeys([]string{"host", "a.example.com"}, testRealm, []int32{18, 17, 20, 19})
	wantLen := map[int32]int{18: 32, 17: 16, 20: 32, 19: 16}
	for i, k := range a {
		if len(k.value) != wantLen[k.etype] {
			t.Errorf("etype %d key is %d bytes, want %d", k.etype, len(k.value), wantLen[k.etype])
		}
		if k.salt != "EXAMPLE.COMhosta.example.com" {
			t.Errorf("salt %q", k.salt)
		}
		if bytes.Equal(k.value, b[i].value) {
			t.Errorf("etype %d: two random keys are equal", k.etype)
		}
	}
}

// TestPasswordKeysMatchMIT derives keys for every supported enctype and
// compares them with the keys MIT's ktutil derives from the same password.
func TestPasswordKeysMatchMIT(t *testing.T) {
	ktutil, err := exec.LookPath("ktutil")
	if err != nil {
		t.Skip("ktutil (krb5-user) not installed")
	}
	const password = "correct horse battery"
	comps := []string{"alice", "admin"}
	etypes := []int32{17, 18, 19, 20}
	keys, err := passwordKeys(password, comps, testRealm, etypes)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mit.keytab")
	var script strings.Builder
	for _, et := range etypes {
		fmt.Fprintf(&script, "addent -password -p alice/admin@%s -k 1 -e %s\n%s\n", testRealm, EncTypeName(et), password)
	}
	fmt.Fprintf(&script, "wkt %s\nquit\n", path)
	cmd := exec.Command(ktutil)
	cmd.Stdin = strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ktutil: %v\n%s", err, out)
	}
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kt.Entries) != len(etypes) {
		t.Fatalf("ktutil wrote %d entries, want %d", len(kt.Entries), len(etypes))
	}
	for i, e := range kt.Entries {
		if e.Key.KeyType != keys[i].etype || !bytes.Equal(e.Key.KeyValue, keys[i].value) {
			t.Errorf("etype %d: MIT key %x, ours %x", keys[i].etype, e.Key.KeyValue, keys[i].value)
		}
	}
	if os.Getenv("KDCHA_TEST_LOG") != "" {
		t.Logf("matched %d MIT-derived keys", len(kt.Entries))
	}
}
