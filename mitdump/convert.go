package mitdump

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kdcha/kdcha/kdc/db"
)

// MIT principal attribute bits (KRB5_KDB_* in kdb.h) that kdcha models.
const (
	attrDisallowForwardable = 0x00000002
	attrDisallowRenewable   = 0x00000008
	attrDisallowProxiable   = 0x00000010
	attrDisallowAllTix      = 0x00000040
	attrRequiresPreauth     = 0x00000080
	attrDisallowSvr         = 0x00001000
	// attrIgnored are set by MIT on its own principals and mean nothing
	// for kdcha: NEW_PRINC, LOCKDOWN_KEYS.
	attrIgnored = 0x00008000 | 0x00800000
	attrModeled = attrDisallowForwardable | attrDisallowRenewable | attrDisallowProxiable |
		attrDisallowAllTix | attrRequiresPreauth | attrDisallowSvr
)

// Report says what an import leaves behind.
type Report struct {
	// Skipped are MIT internals not imported, with the reason.
	Skipped []string
	// NoUsableKey are principals not imported because none of their keys
	// is of an enctype kdcha holds (DES, 3DES, RC4 only): they need a new
	// password or key.
	NoUsableKey []string
	// Notes are other losses (dropped keys, unmodelled flags).
	Notes []string
}

// ToImport converts a dump of realm, decrypted with mk, into a kdcha
// import. It fails on the first principal it cannot read (naming its
// line); principals it can read but not carry over are reported.
func ToImport(d *Dump, mk MasterKey, realm string) (db.ImportRequest, Report, error) {
	var req db.ImportRequest
	var rep Report
	km, err := FindMasterKey(d, realm)
	if err != nil {
		return req, rep, err
	}
	if err := mk.Check(km); err != nil {
		return req, rep, err
	}
	for i := range d.Principals {
		p := &d.Principals[i]
		comps, r, err := SplitName(p.Name)
		if err != nil {
			return req, rep, fmt.Errorf("line %d: %w", p.Line, err)
		}
		if r != realm {
			return req, rep, fmt.Errorf("line %d: %s is not in realm %s", p.Line, p.Name, realm)
		}
		switch {
		case p.Name == km.Name:
			rep.Skipped = append(rep.Skipped, p.Name+": MIT master key (kdcha seals keys with its own)")
			continue
		case comps[0] == "kadmin" || comps[0] == "kiprop":
			rep.Skipped = append(rep.Skipped, p.Name+": MIT kadmind/kpropd service (kdcha has its own admin API and replication)")
			continue
		}
		ip, notes, err := importPrincipal(p, mk)
		if err != nil {
			return req, rep, fmt.Errorf("line %d: %s: %w", p.Line, p.Name, err)
		}
		rep.Notes = append(rep.Notes, notes...)
		if ip == nil {
			rep.NoUsableKey = append(rep.NoUsableKey, p.Name)
			continue
		}
		req.Principals = append(req.Principals, *ip)
	}
	for _, pol := range d.Policies {
		req.Policies = append(req.Policies, db.PasswordPolicy{
			Name: pol.Name, MinLength: int(pol.MinLength), MinClasses: int(pol.MinClasses), History: int(pol.HistoryNum),
			MinLife: seconds(pol.MinLife), MaxLife: seconds(pol.MaxLife), MaxFailures: int(pol.MaxFail),
			FailureInterval: seconds(pol.FailCountInterval), LockoutDuration: seconds(pol.LockoutDuration),
		})
	}
	return req, rep, nil
}

func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }

func unixOrZero(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// unixOrZeroSeconds is unixOrZero's inverse: an unknown (zero) time is 0,
// not the wrapped seconds of year 1.
func unixOrZeroSeconds(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	return uint32(t.Unix())
}

// importPrincipal converts one record; nil means no usable key.
func importPrincipal(p *Principal, mk MasterKey) (*db.ImportPrincipal, []string, error) {
	var notes []string
	if p.MaxLife < 0 || p.MaxRenewableLife < 0 {
		return nil, nil, fmt.Errorf("negative lifetime")
	}
	if extra := p.Attributes &^ (attrModeled | attrIgnored); extra != 0 {
		notes = append(notes, fmt.Sprintf("%s: MIT attribute bits %#x are not modelled by kdcha and were dropped", p.Name, extra))
	}
	policy, err := p.PolicyName()
	if err != nil {
		return nil, nil, err
	}
	ip := &db.ImportPrincipal{
		Name: p.Name,
		Attributes: db.Attributes{
			RequiresPreauth:     p.Attributes&attrRequiresPreauth != 0,
			Disabled:            p.Attributes&attrDisallowAllTix != 0,
			DisallowForwardable: p.Attributes&attrDisallowForwardable != 0,
			DisallowRenewable:   p.Attributes&attrDisallowRenewable != 0,
			DisallowProxiable:   p.Attributes&attrDisallowProxiable != 0,
			DisallowService:     p.Attributes&attrDisallowSvr != 0,
		},
		MaxLife:          seconds(uint32(p.MaxLife)),
		MaxRenewableLife: seconds(uint32(p.MaxRenewableLife)),
		Expires:          unixOrZero(p.Expiration),
		PasswordExpires:  unixOrZero(p.PasswordExpiration),
		PasswordChanged:  unixOrZero(p.LastPasswordChange()),
		Policy:           policy,
	}
	// Usable keys by kvno, newest first; one per enctype (MIT's first).
	byKVNO := map[uint16][]db.Key{}
	for _, kd := range p.Keys {
		et := int32(kd.EType)
		if !db.SupportedEncType(et) {
			continue
		}
		salt, err := kd.SaltBytes(p.Name)
		if err != nil || !utf8.Valid(salt) {
			notes = append(notes, fmt.Sprintf("%s: key kvno %d enctype %d dropped: salt type %d not carried over", p.Name, kd.KVNO, kd.EType, kd.SaltType))
			continue
		}
		key, err := mk.Decrypt(kd)
		if err != nil {
			return nil, nil, fmt.Errorf("key kvno %d enctype %d: %w", kd.KVNO, kd.EType, err)
		}
		if slicesContainEType(byKVNO[kd.KVNO], et) {
			notes = append(notes, fmt.Sprintf("%s: second enctype %d key at kvno %d dropped", p.Name, et, kd.KVNO))
			continue
		}
		byKVNO[kd.KVNO] = append(byKVNO[kd.KVNO], db.Key{EType: et, KVNO: uint32(kd.KVNO), Salt: string(salt), Value: key})
	}
	kvnos := make([]int, 0, len(byKVNO))
	for k := range byKVNO {
		kvnos = append(kvnos, int(k))
	}
	sort.Sort(sort.Reverse(sort.IntSlice(kvnos)))
	if len(kvnos) == 0 || kvnos[0] == 0 {
		return nil, notes, nil
	}
	ip.Keys = byKVNO[uint16(kvnos[0])]
	if len(kvnos) > 1 && kvnos[1] > 0 {
		ip.PreviousKeys = byKVNO[uint16(kvnos[1])]
	}
	if len(kvnos) > 2 {
		notes = append(notes, fmt.Sprintf("%s: keys older than kvno %d dropped", p.Name, kvnos[1]))
	}
	return ip, notes, nil
}

func slicesContainEType(keys []db.Key, et int32) bool {
	for _, k := range keys {
		if k.EType == et {
			return true
		}
	}
	return false
}

// exportModifier is the principal an export names as the author of every
// principal's last change (MIT's own kdb5_util create names
// "db_creation@REALM" the same way: no such principal needs to exist).
func exportModifier(realm string) string { return "kdcha@" + realm }

// FromExport builds an MIT dump of realm from kdcha principals and
// policies, with keys encrypted in mk (the master key of the MIT realm
// that will load it) and a K/M record holding mk.
func FromExport(ps []*db.Principal, pols []db.PasswordPolicy, mk MasterKey, realm string) (*Dump, error) {
	d := &Dump{}
	kmName := MasterKeyName(realm)
	kmKey, err := mk.Encrypt(kmName, mk.EType, uint16(mk.KVNO), mk.Key, nil)
	if err != nil {
		return nil, err
	}
	kmKey.Ver, kmKey.SaltType, kmKey.Salt = 1, 0, nil
	act := []byte{1, 0, byte(mk.KVNO), byte(mk.KVNO >> 8), 0, 0, 0, 0}
	d.Principals = append(d.Principals, Principal{BaseLength: 38, Name: kmName, Attributes: attrDisallowAllTix | 0x00800000,
		MaxLife: 86400, TLData: []TLData{{Type: TLActKVNO, Data: act}}, Keys: []KeyData{kmKey}})
	mkvno := []byte{byte(mk.KVNO), byte(mk.KVNO >> 8)}
	for _, p := range ps {
		if p.Name == kmName {
			continue
		}
		if !strings.HasSuffix(p.Name, "@"+realm) {
			return nil, fmt.Errorf("%s is not in realm %s", p.Name, realm)
		}
		mp := Principal{BaseLength: 38, Name: p.Name,
			MaxLife: int32(p.MaxLife / time.Second), MaxRenewableLife: int32(p.MaxRenewableLife / time.Second)}
		// The history kdb5_util writes (and kadmin getprinc shows): last
		// modification by whom, and the last password change if known.
		mp.TLData = append(mp.TLData, ModPrincTL(unixOrZeroSeconds(p.Modified), exportModifier(realm)))
		if !p.PasswordChanged.IsZero() {
			mp.TLData = append(mp.TLData, LastPasswordChangeTL(uint32(p.PasswordChanged.Unix())))
		}
		mp.TLData = append(mp.TLData, TLData{Type: TLKADMData, Data: KADMData(p.Policy)}, TLData{Type: TLMKVNO, Data: mkvno})
		a := p.Attributes
		for _, f := range []struct {
			on  bool
			bit uint32
		}{{a.RequiresPreauth, attrRequiresPreauth}, {a.Disabled || p.Locked, attrDisallowAllTix},
			{a.DisallowForwardable, attrDisallowForwardable}, {a.DisallowRenewable, attrDisallowRenewable},
			{a.DisallowProxiable, attrDisallowProxiable}, {a.DisallowService, attrDisallowSvr}} {
			if f.on {
				mp.Attributes |= f.bit
			}
		}
		if !p.Expires.IsZero() {
			mp.Expiration = uint32(p.Expires.Unix())
		}
		if !p.PasswordExpires.IsZero() {
			mp.PasswordExpiration = uint32(p.PasswordExpires.Unix())
		}
		for _, keys := range [][]db.Key{p.Keys, p.PreviousKeys} {
			for _, k := range keys {
				kd, err := mk.Encrypt(p.Name, k.EType, uint16(k.KVNO), k.Value, []byte(k.Salt))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p.Name, err)
				}
				mp.Keys = append(mp.Keys, kd)
			}
		}
		d.Principals = append(d.Principals, mp)
	}
	for _, pol := range pols {
		d.Policies = append(d.Policies, Policy{Name: pol.Name, MinLife: uint32(pol.MinLife / time.Second),
			MaxLife: uint32(pol.MaxLife / time.Second), MinLength: uint32(pol.MinLength), MinClasses: uint32(pol.MinClasses),
			HistoryNum: uint32(pol.History), MaxFail: uint32(pol.MaxFailures),
			FailCountInterval: uint32(pol.FailureInterval / time.Second), LockoutDuration: uint32(pol.LockoutDuration / time.Second),
			V111: true, AllowedKeysalts: "-"})
	}
	return d, nil
}
