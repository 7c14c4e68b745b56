package kdc

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"

	"github.com/kdcha/kdcha/kdc/db"
)

// memDB is the in-memory twin of the principal database for protocol tests.
type memDB struct {
	realm  string
	byName map[string]*db.Principal
}

func (m *memDB) Realm() string { return m.realm }

func (m *memDB) Lookup(name string) (*db.Principal, bool) {
	p, ok := m.byName[name]
	return p, ok
}

func (m *memDB) Similar(name string, n int) []string {
	first, _, _ := strings.Cut(name, "/")
	var out []string
	for k := range m.byName {
		if strings.HasPrefix(k, first+"/") && k != name {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

const testRealm = "TEST.REALM"

// add stores a principal whose keys derive from password (or from the name
// when password is empty, standing in for a random key).
func (m *memDB) add(t testing.TB, name, password string, attrs db.Attributes, aliases ...string) *db.Principal {
	t.Helper()
	return m.addWithETypes(t, name, password, []int32{18, 17}, attrs, aliases...)
}

// addWithETypes is add with keys of the given enctypes.
func (m *memDB) addWithETypes(t testing.TB, name, password string, etypes []int32, attrs db.Attributes, aliases ...string) *db.Principal {
	t.Helper()
	comps, realm, err := db.ParseName(name, m.realm)
	if err != nil {
		t.Fatal(err)
	}
	canonical := strings.Join(comps, "/") + "@" + realm
	salt := db.DefaultSalt(comps, realm)
	if password == "" {
		password = "random-" + canonical
	}
	p := &db.Principal{Name: canonical, Attributes: attrs, Created: time.Unix(0, 0)}
	for _, e := range etypes {
		et, err := crypto.GetEtype(e)
		if err != nil {
			t.Fatal(err)
		}
		k, err := et.StringToKey(password, salt, et.GetDefaultStringToKeyParams())
		if err != nil {
			t.Fatal(err)
		}
		p.Keys = append(p.Keys, db.Key{EType: e, KVNO: 1, Salt: salt, Value: k})
	}
	for _, a := range aliases {
		p.Aliases = append(p.Aliases, a+"@"+realm)
	}
	m.byName[canonical] = p
	for _, a := range p.Aliases {
		m.byName[a] = p
	}
	return p
}

func newMemDB(t testing.TB) *memDB {
	m := &memDB{realm: testRealm, byName: map[string]*db.Principal{}}
	m.add(t, "krbtgt/"+testRealm, "", db.Attributes{})
	m.add(t, "alice", "alice-password-1", db.Attributes{RequiresPreauth: true})
	m.add(t, "svc", "svc-password-123", db.Attributes{})
	m.add(t, "HTTP/web.example.com", "", db.Attributes{}, "HTTP/192.0.2.5")
	m.addWithETypes(t, "sha2user", "sha2-password-1", []int32{20, 19}, db.Attributes{RequiresPreauth: true})
	m.addWithETypes(t, "HTTP/sha2.example.com", "", []int32{20, 19}, db.Attributes{})
	return m
}
