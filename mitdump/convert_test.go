package mitdump

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"

	"github.com/kdcha/kdcha/kdc/db"
)

func importOf(t *testing.T, req db.ImportRequest, name string) db.ImportPrincipal {
	t.Helper()
	for _, p := range req.Principals {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("%s not imported", name)
	return db.ImportPrincipal{}
}

// The MIT golden dump converts: password keys with their salts, the
// service's kvno 2, flags, lifetimes, expirations, policies; MIT
// internals skipped and the RC4-only principal reported.
func TestToImport(t *testing.T) {
	_, d, mk := readGolden(t)
	req, rep, err := ToImport(d, mk, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.NoUsableKey, []string{"rc4only@MIT.TEST"}) {
		t.Errorf("no usable key: %v", rep.NoUsableKey)
	}
	if len(rep.Skipped) != 3 || !strings.HasPrefix(rep.Skipped[0], "K/M@") {
		t.Errorf("skipped: %v", rep.Skipped)
	}
	alice := importOf(t, req, "alice@MIT.TEST")
	et, _ := crypto.GetEtype(18)
	want, _ := et.StringToKey("alicepassword1", "MIT.TESTalice", et.GetDefaultStringToKeyParams())
	if k := alice.Keys[0]; k.EType != 18 || k.KVNO != 1 || k.Salt != "MIT.TESTalice" || !bytes.Equal(k.Value, want) || len(alice.Keys) != 2 {
		t.Errorf("alice keys %+v", alice.Keys)
	}
	if erin := importOf(t, req, "erin@MIT.TEST"); erin.Keys[0].Salt != "erin" || erin.Keys[1].Salt != "MIT.TEST" {
		t.Errorf("erin salts %q %q", erin.Keys[0].Salt, erin.Keys[1].Salt)
	}
	if svc := importOf(t, req, "host/svc.mit.test@MIT.TEST"); svc.Keys[0].KVNO != 2 {
		t.Errorf("service kvno %d", svc.Keys[0].KVNO)
	}
	if bob := importOf(t, req, "bob@MIT.TEST"); !bob.Attributes.RequiresPreauth || bob.Policy != "strong" {
		t.Errorf("bob %+v", bob)
	}
	if carol := importOf(t, req, "carol@MIT.TEST"); !carol.Attributes.DisallowForwardable {
		t.Errorf("carol %+v", carol.Attributes)
	}
	dave := importOf(t, req, "dave@MIT.TEST")
	if !dave.Attributes.Disabled || dave.MaxLife != 2*time.Hour || dave.MaxRenewableLife != 72*time.Hour ||
		dave.Expires.Year() != 2030 || dave.PasswordExpires.Year() != 2020 {
		t.Errorf("dave %+v", dave)
	}
	if len(req.Policies) != 1 || req.Policies[0].MinLength != 10 || req.Policies[0].History != 3 || req.Policies[0].LockoutDuration != 10*time.Minute {
		t.Errorf("policies %+v", req.Policies)
	}

	// Export and re-import: the same keys, salts, kvnos and fields.
	var ps []*db.Principal
	for _, ip := range req.Principals {
		ps = append(ps, &db.Principal{Name: ip.Name, Keys: ip.Keys, PreviousKeys: ip.PreviousKeys, Attributes: ip.Attributes,
			MaxLife: ip.MaxLife, MaxRenewableLife: ip.MaxRenewableLife, Expires: ip.Expires, PasswordExpires: ip.PasswordExpires, Policy: ip.Policy,
			PasswordChanged: ip.PasswordChanged})
	}
	out, err := FromExport(ps, req.Policies, mk, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, out); err != nil {
		t.Fatal(err)
	}
	d2, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	req2, _, err := ToImport(d2, mk, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	if len(req2.Principals) != len(req.Principals) {
		t.Fatalf("%d principals after the round trip, want %d", len(req2.Principals), len(req.Principals))
	}
	for i := range req.Principals {
		a, b := req.Principals[i], req2.Principals[i]
		if a.Name != b.Name || a.Attributes != b.Attributes || a.Policy != b.Policy || a.MaxLife != b.MaxLife ||
			!a.Expires.Equal(b.Expires) || !a.PasswordExpires.Equal(b.PasswordExpires) || !a.PasswordChanged.Equal(b.PasswordChanged) ||
			!slices.EqualFunc(a.Keys, b.Keys, func(x, y db.Key) bool {
				return x.EType == y.EType && x.KVNO == y.KVNO && x.Salt == y.Salt && bytes.Equal(x.Value, y.Value)
			}) {
			t.Errorf("round trip of %s:\n%+v\n%+v", a.Name, a, b)
		}
	}
}
