package mitdump

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Header is the first line of the dumps this package reads and writes: the
// format `kdb5_util dump` writes by default since MIT 1.11 (r1_11_version in
// MIT's src/kadmin/dbutil/dump.c).
const Header = "kdb5_util load_dump version 7"

// Limits on input. MIT has no fixed bound on a record; one line holds one
// principal with all its keys and tagged data, which real principals keep
// to a few kilobytes.
const (
	// MaxLineBytes bounds one record (one line of the dump).
	MaxLineBytes = 1 << 20
	// MaxNameBytes bounds a principal or policy name (MIT reads policy
	// names into a 1024-byte buffer).
	MaxNameBytes = 1023
)

// ErrSyntax is wrapped by every error Parse returns for malformed input.
var ErrSyntax = errors.New("malformed MIT dump")

// SyntaxError is a malformed dump, located by its 1-based line number.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Dump is the content of a dump file.
type Dump struct {
	Principals []Principal
	Policies   []Policy
}

// Principal is one "princ" record, field for field as MIT stores it
// (krb5_db_entry). Times are seconds since the epoch, 0 meaning never;
// lifetimes are seconds, 0 meaning the realm's limit.
type Principal struct {
	// Line is the record's line in the dump (0 when not parsed).
	Line int
	// BaseLength is MIT's entry->len (always 38, KRB5_KDB_V1_BASE_LENGTH).
	BaseLength uint16
	// Name is the unparsed name, "primary/instance@REALM".
	Name               string
	Attributes         uint32
	MaxLife            int32
	MaxRenewableLife   int32
	Expiration         uint32
	PasswordExpiration uint32
	LastSuccess        uint32
	LastFailed         uint32
	FailAuthCount      uint32
	TLData             []TLData
	Keys               []KeyData
	EData              []byte
}

// TLData is one tagged-data item of a principal or policy.
type TLData struct {
	Type int16
	Data []byte
}

// KeyData is one key of a principal as MIT stores it: the key encrypted
// with the master key, and its salt.
type KeyData struct {
	// Ver is 1 (no salt recorded: the normal salt) or 2.
	Ver  int16
	KVNO uint16
	// EType is the key's enctype.
	EType int16
	// Contents is the 2-byte little-endian key length followed by the key
	// encrypted with the master key (see MasterKey.Decrypt).
	Contents []byte
	// SaltType and Salt are meaningful when Ver is 2 (see salt.go).
	SaltType int16
	Salt     []byte
}

// Policy is one "policy" record (kadm5 password policy). Lifetimes are
// seconds.
type Policy struct {
	Line              int
	Name              string
	MinLife           uint32
	MaxLife           uint32
	MinLength         uint32
	MinClasses        uint32
	HistoryNum        uint32
	RefCount          uint32
	MaxFail           uint32
	FailCountInterval uint32
	LockoutDuration   uint32
	// The fields below exist in 1.11-format records only; V111 says so.
	V111             bool
	Attributes       uint32
	MaxTicketLife    uint32
	MaxRenewableLife uint32
	// AllowedKeysalts is "-" when unset, as MIT writes it.
	AllowedKeysalts string
	TLData          []TLData
}

// Parse reads a whole dump. Any malformed record stops it with a
// *SyntaxError naming the line; nothing partial is returned.
func Parse(r io.Reader) (*Dump, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+1)
	d := &Dump{}
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			if text != Header {
				return nil, &SyntaxError{line, fmt.Sprintf("not a %q dump (the header is %.60q); dump with kdb5_util dump and no format option", Header, text)}
			}
			continue
		}
		kind, rest, _ := strings.Cut(text, "\t")
		switch kind {
		case "princ":
			p, err := parsePrincipal(rest)
			if err != nil {
				return nil, &SyntaxError{line, "principal: " + err.Error()}
			}
			p.Line = line
			d.Principals = append(d.Principals, p)
		case "policy":
			p, err := parsePolicy(rest)
			if err != nil {
				return nil, &SyntaxError{line, "policy: " + err.Error()}
			}
			p.Line = line
			d.Policies = append(d.Policies, p)
		default:
			return nil, &SyntaxError{line, fmt.Sprintf("unknown record type %.40q", kind)}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &SyntaxError{line + 1, fmt.Sprintf("record longer than %d bytes", MaxLineBytes)}
		}
		return nil, fmt.Errorf("read dump: %w", err)
	}
	if line == 0 {
		return nil, &SyntaxError{1, "empty file"}
	}
	return d, nil
}

// fields consumes tab-separated tokens.
type fields struct {
	toks []string
}

func (f *fields) next() (string, error) {
	if len(f.toks) == 0 {
		return "", errors.New("record ends early")
	}
	t := f.toks[0]
	f.toks = f.toks[1:]
	return t, nil
}

// num reads a decimal integer in [lo, hi].
func (f *fields) num(what string, lo, hi int64) (int64, error) {
	t, err := f.next()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s: %.30q is not a number in [%d, %d]", what, t, lo, hi)
	}
	return v, nil
}

// octets reads n hex-encoded bytes, or "-1" when n is 0.
func (f *fields) octets(what string, n int64) ([]byte, error) {
	t, err := f.next()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		if t != "-1" {
			return nil, fmt.Errorf("%s: empty value must be -1", what)
		}
		return nil, nil
	}
	if int64(len(t)) != 2*n {
		return nil, fmt.Errorf("%s: %d hex digits for %d bytes", what, len(t), n)
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

func (f *fields) tlData(n int64) ([]TLData, error) {
	var out []TLData
	for i := range n {
		typ, err := f.num(fmt.Sprintf("tl_data %d type", i), math.MinInt16, math.MaxInt16)
		if err != nil {
			return nil, err
		}
		l, err := f.num(fmt.Sprintf("tl_data %d length", i), 0, math.MaxUint16)
		if err != nil {
			return nil, err
		}
		b, err := f.octets(fmt.Sprintf("tl_data %d contents", i), l)
		if err != nil {
			return nil, err
		}
		out = append(out, TLData{Type: int16(typ), Data: b})
	}
	return out, nil
}

// parsePrincipal parses what follows "princ\t" (see k5beta7_common in
// MIT's dump.c for the layout).
func parsePrincipal(s string) (Principal, error) {
	var p Principal
	// Five counts, then the name, whose length is given because MIT names
	// may contain tabs.
	head := fields{}
	for range 5 {
		t, rest, ok := strings.Cut(s, "\t")
		if !ok {
			return p, errors.New("cannot read size tokens")
		}
		head.toks = append(head.toks, t)
		s = rest
	}
	baseLen, err := head.num("length", 0, math.MaxUint16)
	if err != nil {
		return p, err
	}
	nameLen, err := head.num("name length", 1, MaxNameBytes)
	if err != nil {
		return p, err
	}
	nTL, err := head.num("tl_data count", 0, math.MaxUint16)
	if err != nil {
		return p, err
	}
	nKeys, err := head.num("key_data count", 0, math.MaxInt16)
	if err != nil {
		return p, err
	}
	eLen, err := head.num("extra data length", 0, math.MaxUint16)
	if err != nil {
		return p, err
	}
	if int64(len(s)) <= nameLen || s[nameLen] != '\t' {
		return p, fmt.Errorf("name is not %d bytes followed by a tab", nameLen)
	}
	p.BaseLength = uint16(baseLen)
	p.Name = s[:nameLen]
	s = s[nameLen+1:]
	body, ok := strings.CutSuffix(s, ";")
	if !ok {
		return p, fmt.Errorf("%s: record does not end with ';'", p.Name)
	}
	f := fields{toks: strings.Split(body, "\t")}
	// Every token is at least one byte plus a tab, so the counts above
	// cannot make the loops below run longer than the line is.
	for _, a := range []struct {
		dst    any
		what   string
		lo, hi int64
	}{
		{&p.Attributes, "attributes", math.MinInt32, math.MaxInt32},
		{&p.MaxLife, "max life", math.MinInt32, math.MaxInt32},
		{&p.MaxRenewableLife, "max renewable life", math.MinInt32, math.MaxInt32},
		{&p.Expiration, "expiration", 0, math.MaxUint32},
		{&p.PasswordExpiration, "password expiration", 0, math.MaxUint32},
		{&p.LastSuccess, "last success", math.MinInt32, math.MaxUint32},
		{&p.LastFailed, "last failed", math.MinInt32, math.MaxUint32},
		{&p.FailAuthCount, "failed auth count", math.MinInt32, math.MaxUint32},
	} {
		v, err := f.num(a.what, a.lo, a.hi)
		if err != nil {
			return p, fmt.Errorf("%s: %w", p.Name, err)
		}
		switch d := a.dst.(type) {
		case *uint32:
			*d = uint32(v)
		case *int32:
			*d = int32(v)
		}
	}
	if p.TLData, err = f.tlData(nTL); err != nil {
		return p, fmt.Errorf("%s: %w", p.Name, err)
	}
	for i := range nKeys {
		kd, err := f.keyData(i)
		if err != nil {
			return p, fmt.Errorf("%s: %w", p.Name, err)
		}
		p.Keys = append(p.Keys, kd)
	}
	if p.EData, err = f.octets("extra data", eLen); err != nil {
		return p, fmt.Errorf("%s: %w", p.Name, err)
	}
	if len(f.toks) != 0 {
		return p, fmt.Errorf("%s: %d unexpected fields at the end", p.Name, len(f.toks))
	}
	return p, nil
}

func (f *fields) keyData(i int64) (KeyData, error) {
	var kd KeyData
	ver, err := f.num(fmt.Sprintf("key %d version", i), 1, 2)
	if err != nil {
		return kd, err
	}
	kvno, err := f.num(fmt.Sprintf("key %d kvno", i), 0, math.MaxUint16)
	if err != nil {
		return kd, err
	}
	kd.Ver, kd.KVNO = int16(ver), uint16(kvno)
	for j := range ver {
		typ, err := f.num(fmt.Sprintf("key %d type %d", i, j), math.MinInt16, math.MaxInt16)
		if err != nil {
			return kd, err
		}
		l, err := f.num(fmt.Sprintf("key %d length %d", i, j), 0, math.MaxUint16)
		if err != nil {
			return kd, err
		}
		b, err := f.octets(fmt.Sprintf("key %d contents %d", i, j), l)
		if err != nil {
			return kd, err
		}
		if j == 0 {
			kd.EType, kd.Contents = int16(typ), b
		} else {
			kd.SaltType, kd.Salt = int16(typ), b
		}
	}
	return kd, nil
}

// parsePolicy parses what follows "policy\t": a 1.8-format record (ten
// fields) or a 1.11-format one (five more, then tagged data).
func parsePolicy(s string) (Policy, error) {
	var p Policy
	f := fields{toks: strings.Split(s, "\t")}
	name, err := f.next()
	if err != nil {
		return p, err
	}
	if name == "" || len(name) > MaxNameBytes || strings.ContainsAny(name, " \r\n\v\f") {
		return p, fmt.Errorf("bad name %.40q", name)
	}
	p.Name = name
	for _, a := range []struct {
		dst  *uint32
		what string
	}{
		{&p.MinLife, "min life"}, {&p.MaxLife, "max life"}, {&p.MinLength, "min length"},
		{&p.MinClasses, "min classes"}, {&p.HistoryNum, "history"}, {&p.RefCount, "reference count"},
		{&p.MaxFail, "max failures"}, {&p.FailCountInterval, "failure count interval"},
		{&p.LockoutDuration, "lockout duration"},
	} {
		v, err := f.num(a.what, 0, math.MaxUint32)
		if err != nil {
			return p, fmt.Errorf("%s: %w", name, err)
		}
		*a.dst = uint32(v)
	}
	if len(f.toks) == 0 {
		return p, nil
	}
	p.V111 = true
	for _, a := range []struct {
		dst  *uint32
		what string
	}{
		{&p.Attributes, "attributes"}, {&p.MaxTicketLife, "max ticket life"},
		{&p.MaxRenewableLife, "max renewable life"},
	} {
		v, err := f.num(a.what, 0, math.MaxUint32)
		if err != nil {
			return p, fmt.Errorf("%s: %w", name, err)
		}
		*a.dst = uint32(v)
	}
	if p.AllowedKeysalts, err = f.next(); err != nil || p.AllowedKeysalts == "" {
		return p, fmt.Errorf("%s: allowed keysalts missing", name)
	}
	nTL, err := f.num("tl_data count", 0, math.MaxInt16)
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	if p.TLData, err = f.tlData(nTL); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	if len(f.toks) != 0 {
		return p, fmt.Errorf("%s: %d unexpected fields at the end", name, len(f.toks))
	}
	return p, nil
}

// Write prints d as a dump `kdb5_util load` reads: the header, then every
// principal and every policy, formatted as MIT's own dump code does.
func Write(w io.Writer, d *Dump) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\n", Header)
	for i := range d.Principals {
		writePrincipal(bw, &d.Principals[i])
	}
	for i := range d.Policies {
		writePolicy(bw, &d.Policies[i])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write dump: %w", err)
	}
	return nil
}

func writeOctets(w *bufio.Writer, b []byte) {
	if len(b) == 0 {
		w.WriteString("-1")
		return
	}
	w.WriteString(hex.EncodeToString(b))
}

func writeTLData(w *bufio.Writer, tl []TLData) {
	for _, t := range tl {
		fmt.Fprintf(w, "\t%d\t%d\t", t.Type, len(t.Data))
		writeOctets(w, t.Data)
	}
}

func writePrincipal(w *bufio.Writer, p *Principal) {
	fmt.Fprintf(w, "princ\t%d\t%d\t%d\t%d\t%d\t%s\t", p.BaseLength, len(p.Name), len(p.TLData), len(p.Keys), len(p.EData), p.Name)
	fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d", int32(p.Attributes), p.MaxLife, p.MaxRenewableLife,
		p.Expiration, p.PasswordExpiration, p.LastSuccess, p.LastFailed, int32(p.FailAuthCount))
	writeTLData(w, p.TLData)
	w.WriteString("\t")
	for _, k := range p.Keys {
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t", k.Ver, k.KVNO, k.EType, len(k.Contents))
		writeOctets(w, k.Contents)
		w.WriteString("\t")
		if k.Ver > 1 {
			fmt.Fprintf(w, "%d\t%d\t", k.SaltType, len(k.Salt))
			writeOctets(w, k.Salt)
			w.WriteString("\t")
		}
	}
	writeOctets(w, p.EData)
	w.WriteString(";\n")
}

func writePolicy(w *bufio.Writer, p *Policy) {
	fmt.Fprintf(w, "policy\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d", p.Name, p.MinLife, p.MaxLife,
		p.MinLength, p.MinClasses, p.HistoryNum, p.RefCount, p.MaxFail, p.FailCountInterval, p.LockoutDuration)
	if p.V111 {
		ks := p.AllowedKeysalts
		if ks == "" {
			ks = "-"
		}
		fmt.Fprintf(w, "\t%d\t%d\t%d\t%s\t%d", p.Attributes, p.MaxTicketLife, p.MaxRenewableLife, ks, len(p.TLData))
		writeTLData(w, p.TLData)
	}
	w.WriteString("\n")
}
