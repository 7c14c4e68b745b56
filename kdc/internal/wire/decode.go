package wire

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/der"
)

// The decoders below read the messages a KDC receives into gokrb5's types
// without reflection. They are at least as strict as gokrb5's Unmarshal
// methods (the tests hold them to the same values wherever gokrb5 accepts
// the input) and stricter where gokrb5 is lax; every such case wraps
// ErrStricter:
//
//   - a KerberosTime must be GeneralizedTime YYYYMMDDHHMMSSZ (gokrb5 also
//     takes UTCTime and +hhmm offsets);
//   - a KerberosString must be a GeneralString (gokrb5 also takes
//     IA5String, T61String and UTF8String);
//   - no bytes after a message, after the element inside an explicit tag,
//     or after the last known field of a SEQUENCE (gokrb5 ignores them);
//   - an APPLICATION or explicit tag's length is checked: the element
//     inside must end where the tag ends, and the tag where its SEQUENCE
//     or the input ends (gofork ignores these lengths and reads on into
//     the next fields);
//   - an optional field whose contents have the wrong type is refused
//     (gofork takes it as absent), and so is another field in the place
//     of a required one (gofork takes any element for a RawValue field);
//   - an element header that is not DER (non-minimal tag or length,
//     indefinite length) is refused inside any field (gofork, reading on
//     past explicit tags, may skip it or take the field as absent);
//   - an explicit tag must be constructed (encoding/asn1 takes an empty
//     primitive one);
//   - integers within their RFC 4120 type: Int32 for types, versions and
//     microseconds, UInt32 for nonces, kvnos and sequence numbers, which
//     may also come as negative Int32 because old implementations send
//     them so (gokrb5 takes any int64);
//   - KerberosFlags at least 32 bits (RFC 4120's SIZE (32..MAX)); gokrb5
//     pads shorter KDCOptions by prepending zero bytes, moving the bits;
//   - the lists have limits (below), which bound what a request can make
//     the KDC allocate;
//   - additional-tickets is a SEQUENCE OF Ticket read as such (gokrb5 skips
//     a header by hand and panics when it is one byte long).
//
// Nesting is bounded by the schema itself: the decoders are not recursive.
//
// Allocation: byte fields (ciphertexts, checksums, keys, padata values,
// addresses) are sub-slices of the input, so the decoded value must not
// outlive it; strings are sub-strings of one copy of the input made on
// first use, so a message costs one string allocation however many names
// it holds.

// Limits on list lengths. Real clients send a handful of each.
const (
	MaxNameComponents = 16 // PrincipalName name-string
	MaxETypes         = 32 // KDC-REQ-BODY etype
	MaxPAData         = 16 // KDC-REQ padata
	MaxAddresses      = 32 // HostAddresses
	MaxAuthzEntries   = 32 // AuthorizationData
	MaxTickets        = 4  // KDC-REQ-BODY additional-tickets

	maxListLimit = 32 // the largest of the above, for each's array
)

// ErrStricter is wrapped by the errors for input gokrb5 accepts and these
// decoders refuse on purpose (see the list above).
var ErrStricter = errors.New("refused by kdcha's stricter decoder")

func strictf(format string, args ...any) error {
	return fmt.Errorf(format+" (%w)", append(args, ErrStricter)...)
}

// decoder holds the input every slice it returns comes from.
type decoder struct {
	buf []byte
	str string // string(buf), made on first use
}

// string returns b, a sub-slice of d.buf, as a sub-string of one copy of
// d.buf: one allocation per message instead of one per name.
func (d *decoder) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	off := cap(d.buf) - cap(b)
	if off < 0 || off+len(b) > len(d.buf) {
		return string(b) // not from d.buf; never happens, but stay correct
	}
	if d.str == "" {
		d.str = string(d.buf)
	}
	return d.str[off : off+len(b)]
}

// one reads b as exactly one element.
func one(b []byte) (der.Element, error) {
	e, rest, err := der.Read(b)
	if err != nil {
		if errors.Is(err, der.ErrTruncated) {
			// gofork reads what an APPLICATION or explicit tag holds
			// without checking its length against the input.
			return e, strictf("%v", err)
		}
		return e, err
	}
	if len(rest) > 0 {
		return e, strictf("%d bytes after the element", len(rest))
	}
	return e, nil
}

// application reads b as exactly one APPLICATION n element holding a
// SEQUENCE and returns the SEQUENCE's fields.
func application(b []byte, n int) (fields, error) {
	e, err := one(b)
	if err != nil {
		return fields{}, err
	}
	return applicationOf(e, n)
}

// applicationOf returns the fields of e, which must be an APPLICATION n
// element holding a SEQUENCE.
func applicationOf(e der.Element, n int) (fields, error) {
	if e.Class != der.ClassApplication || e.Tag != n || !e.Constructed {
		return fields{}, strictf("want APPLICATION %d, got class %d tag %d", n, e.Class, e.Tag) // see universal
	}
	s, err := one(e.Content)
	if err != nil {
		return fields{}, err
	}
	return sequence(s)
}

// sequence returns the fields of a SEQUENCE element.
func sequence(e der.Element) (fields, error) {
	if err := universal(e, 16, true, "want SEQUENCE"); err != nil {
		return fields{}, err
	}
	return fields{rest: e.Content}, nil
}

// fields walks the explicitly tagged fields [0], [1], ... of a SEQUENCE in
// order.
type fields struct {
	rest []byte
	// raw is the contents of the field read last: its element exactly as
	// received.
	raw []byte
	// peeked is the next field when a call found it was not the one asked
	// for (an absent optional field), and after what follows it: kept so
	// the next call does not read it again.
	peeked  der.Element
	after   []byte
	hasPeek bool
}

// next returns the element inside field [tag] if that is the next field;
// present is false when the field is absent (the next one has a higher
// tag, or there is none).
func (f *fields) next(tag int) (e der.Element, present bool, err error) {
	field, rest := f.peeked, f.after
	if !f.hasPeek {
		if len(f.rest) == 0 {
			return e, false, nil
		}
		if field, rest, err = der.Read(f.rest); err != nil {
			if errors.Is(err, der.ErrTruncated) {
				// gofork does not check an explicit tag's length against
				// the SEQUENCE it is in either.
				return e, false, strictf("field [%d] overruns its SEQUENCE: %v", tag, err)
			}
			// A header that is not DER (non-minimal tag or length,
			// indefinite length): refused; gofork, reading on past
			// explicit tags, may skip it.
			return e, false, strictf("field [%d]: %v", tag, err)
		}
		if field.Class != der.ClassContext {
			// gofork takes the bare element in place of a RawValue field.
			return e, false, strictf("field [%d]: want a context tag, got class %d tag %d", tag, field.Class, field.Tag)
		}
	}
	if field.Tag > tag {
		f.peeked, f.after, f.hasPeek = field, rest, true
		return e, false, nil
	}
	f.hasPeek = false
	if field.Tag < tag {
		return e, false, strictf("field [%d] out of order or repeated before [%d]", field.Tag, tag)
	}
	if !field.Constructed {
		return e, false, strictf("field [%d] is primitive", tag)
	}
	f.rest, f.raw = rest, field.Content
	if e, err = one(field.Content); err != nil {
		if errors.Is(err, der.ErrTruncated) {
			// gofork reads the inner element past the end of the
			// explicit tag, into the next fields.
			return e, false, strictf("field [%d] overruns its tag: %v", tag, err)
		}
		return e, false, strictf("field [%d]: %v", tag, err)
	}
	return e, true, nil
}

// need is next for a field that must be present.
func (f *fields) need(tag int) (der.Element, error) {
	e, _, err := f.field(tag, false)
	return e, err
}

// field is next for a field that may be optional: a required one that is
// absent is an error.
func (f *fields) field(tag int, optional bool) (e der.Element, present bool, err error) {
	e, present, err = f.next(tag)
	if err == nil && !present && !optional {
		err = f.missing(tag)
	}
	return e, present, err
}

// missing is the error for a required field [tag] that is absent. When a
// later field stands in its place, gofork takes that element for a
// RawValue field whatever its tag number, which is lax: refused on
// purpose.
func (f *fields) missing(tag int) error {
	if f.hasPeek {
		return strictf("field [%d] missing (field [%d] in its place)", tag, f.peeked.Tag)
	}
	return fmt.Errorf("field [%d] missing", tag)
}

// end checks that no field is left.
func (f *fields) end() error {
	if f.hasPeek {
		return strictf("unknown field [%d] after the last one", f.peeked.Tag)
	}
	if len(f.rest) == 0 {
		return nil
	}
	e, _, err := der.Read(f.rest)
	if err != nil {
		// gofork ignores what follows the last field it knows, well
		// formed or not.
		return strictf("after the last field: %v", err)
	}
	return strictf("unknown field class %d tag %d after the last one", e.Class, e.Tag)
}

func universal(e der.Element, tag int, constructed bool, what string) error {
	if e.Class != der.ClassUniversal || e.Tag != tag || e.Constructed != constructed {
		// Strict only for optional fields, which gofork takes as absent
		// when their contents have the wrong type (and then ignores them
		// as trailing data); gokrb5 refuses a required one too.
		return strictf("%s: got class %d tag %d", what, e.Class, e.Tag)
	}
	return nil
}

// Ranges of RFC 4120's integer types. UInt32 values (nonce, kvno,
// seq-number) are also taken as negative Int32: MIT's own decoder does,
// because old implementations sent them signed.
const (
	minInt32, maxInt32   = math.MinInt32, math.MaxInt32
	minUInt32, maxUInt32 = math.MinInt32, math.MaxUint32
)

func integer(e der.Element, lo, hi int64) (int64, error) {
	if err := universal(e, der.TagInteger, false, "want INTEGER"); err != nil {
		return 0, err
	}
	v, err := der.ParseInteger(e.Content)
	if err != nil {
		return 0, err
	}
	if v < lo || v > hi {
		return 0, strictf("integer %d outside [%d, %d]", v, lo, hi)
	}
	return v, nil
}

func (f *fields) int32(tag int) (int32, error) {
	e, err := f.need(tag)
	if err != nil {
		return 0, err
	}
	v, err := integer(e, minInt32, maxInt32)
	if err != nil {
		return 0, fmt.Errorf("field [%d]: %w", tag, err)
	}
	return int32(v), nil
}

// optInt reads an optional integer field in [lo, hi].
func (f *fields) optInt(tag int, lo, hi int64) (int64, error) {
	e, ok, err := f.next(tag)
	if err != nil || !ok {
		return 0, err
	}
	v, err := integer(e, lo, hi)
	if err != nil {
		return 0, fmt.Errorf("field [%d]: %w", tag, err)
	}
	return v, nil
}

func (f *fields) int(tag int, lo, hi int64) (int64, error) {
	e, err := f.need(tag)
	if err != nil {
		return 0, err
	}
	v, err := integer(e, lo, hi)
	if err != nil {
		return 0, fmt.Errorf("field [%d]: %w", tag, err)
	}
	return v, nil
}

func octets(e der.Element) ([]byte, error) {
	if err := universal(e, der.TagOctetString, false, "want OCTET STRING"); err != nil {
		return nil, err
	}
	return e.Content, nil
}

func (f *fields) octets(tag int) ([]byte, error) {
	e, err := f.need(tag)
	if err != nil {
		return nil, err
	}
	b, err := octets(e)
	if err != nil {
		return nil, fmt.Errorf("field [%d]: %w", tag, err)
	}
	return b, nil
}

func (d *decoder) kerberosString(e der.Element) (string, error) {
	if e.Class != der.ClassUniversal || e.Constructed {
		return "", strictf("want GeneralString, got class %d tag %d", e.Class, e.Tag) // see universal
	}
	if e.Tag != der.TagGeneralString&0x1f {
		return "", strictf("want GeneralString, got universal tag %d", e.Tag)
	}
	return d.string(e.Content), nil
}

func (d *decoder) realm(f *fields, tag int) (string, error) {
	e, err := f.need(tag)
	if err != nil {
		return "", err
	}
	s, err := d.kerberosString(e)
	if err != nil {
		return "", fmt.Errorf("field [%d]: %w", tag, err)
	}
	return s, nil
}

func kerberosTime(e der.Element) (t time.Time, err error) {
	if e.Class == der.ClassUniversal && e.Tag == 23 && !e.Constructed {
		return t, strictf("UTCTime where KerberosTime is GeneralizedTime")
	}
	if err := universal(e, der.TagGeneralizedTime, false, "want GeneralizedTime"); err != nil {
		return t, err
	}
	v, err := der.ParseGeneralizedTimeUTC(e.Content)
	if err != nil {
		// The forms gokrb5 also takes (+hhmm offsets) are refused here.
		return t, strictf("%v", err)
	}
	return v, nil
}

func (f *fields) time(tag int, optional bool) (t time.Time, err error) {
	e, ok, err := f.next(tag)
	if err != nil {
		return t, err
	}
	if !ok {
		if !optional {
			return t, f.missing(tag)
		}
		return t, nil
	}
	if t, err = kerberosTime(e); err != nil {
		return t, fmt.Errorf("field [%d]: %w", tag, err)
	}
	return t, nil
}

// flags reads KerberosFlags (KDCOptions, APOptions, TicketFlags).
func (f *fields) flags(tag int) (asn1.BitString, error) {
	e, err := f.need(tag)
	if err != nil {
		return asn1.BitString{}, err
	}
	if err := universal(e, der.TagBitString, false, "want BIT STRING"); err != nil {
		return asn1.BitString{}, fmt.Errorf("field [%d]: %w", tag, err)
	}
	bits, n, err := der.ParseBitString(e.Content)
	if err != nil {
		return asn1.BitString{}, fmt.Errorf("field [%d]: %w", tag, err)
	}
	if n < 32 {
		return asn1.BitString{}, strictf("field [%d]: KerberosFlags of %d bits, RFC 4120 says at least 32", tag, n)
	}
	return asn1.BitString{Bytes: bits, BitLength: n}, nil
}

// each calls fn for each element of a SEQUENCE OF, at most limit of them,
// after counting them (n is the count, for the caller to allocate once).
func each(e der.Element, limit int, what string, alloc func(n int), fn func(i int, e der.Element) error) error {
	if err := universal(e, 16, true, "want SEQUENCE OF"); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// One pass into an array on the stack, then one allocation of the
	// right size by the caller.
	var els [maxListLimit]der.Element
	n := 0
	for rest := e.Content; len(rest) > 0; n++ {
		if n == limit || n == len(els) {
			return strictf("more than %d %s", n, what)
		}
		var err error
		if els[n], rest, err = der.Read(rest); err != nil {
			return fmt.Errorf("%s %d: %w", what, n, err)
		}
	}
	alloc(n)
	for i, el := range els[:n] {
		if err := fn(i, el); err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
	return nil
}

func (d *decoder) principalName(e der.Element, pn *types.PrincipalName) error {
	f, err := sequence(e)
	if err != nil {
		return err
	}
	if pn.NameType, err = f.int32(0); err != nil {
		return err
	}
	s, err := f.need(1)
	if err != nil {
		return err
	}
	err = each(s, MaxNameComponents, "name components", func(n int) { pn.NameString = make([]string, n) },
		func(i int, e der.Element) (err error) {
			pn.NameString[i], err = d.kerberosString(e)
			return err
		})
	if err != nil {
		return fmt.Errorf("field [1]: %w", err)
	}
	return f.end()
}

func (d *decoder) nameField(f *fields, tag int, optional bool, pn *types.PrincipalName) error {
	e, ok, err := f.field(tag, optional)
	if err != nil || !ok {
		return err
	}
	if err := d.principalName(e, pn); err != nil {
		return fmt.Errorf("field [%d] PrincipalName: %w", tag, err)
	}
	return nil
}

func encryptedData(e der.Element, ed *types.EncryptedData) error {
	f, err := sequence(e)
	if err != nil {
		return err
	}
	if ed.EType, err = f.int32(0); err != nil {
		return err
	}
	kvno, err := f.optInt(1, minUInt32, maxUInt32)
	if err != nil {
		return err
	}
	ed.KVNO = int(kvno)
	if ed.Cipher, err = f.octets(2); err != nil {
		return err
	}
	return f.end()
}

func (f *fields) encryptedData(tag int, optional bool, ed *types.EncryptedData) error {
	e, ok, err := f.field(tag, optional)
	if err != nil || !ok {
		return err
	}
	if err := encryptedData(e, ed); err != nil {
		return fmt.Errorf("field [%d] EncryptedData: %w", tag, err)
	}
	return nil
}

// typedValue reads the SEQUENCE { [a] Int32, [b] OCTET STRING } shape
// shared by EncryptionKey, Checksum, HostAddress, AuthorizationData
// entries and PA-DATA (whose tags start at 1).
func typedValue(e der.Element, first int) (int32, []byte, error) {
	f, err := sequence(e)
	if err != nil {
		return 0, nil, err
	}
	t, err := f.int32(first)
	if err != nil {
		return 0, nil, err
	}
	v, err := f.octets(first + 1)
	if err != nil {
		return 0, nil, err
	}
	return t, v, f.end()
}

func hostAddresses(e der.Element) (types.HostAddresses, error) {
	var out types.HostAddresses
	err := each(e, MaxAddresses, "addresses", func(n int) { out = make(types.HostAddresses, n) },
		func(i int, e der.Element) (err error) {
			out[i].AddrType, out[i].Address, err = typedValue(e, 0)
			return err
		})
	return out, err
}

func authorizationData(e der.Element) (types.AuthorizationData, error) {
	var out types.AuthorizationData
	err := each(e, MaxAuthzEntries, "authorization data entries", func(n int) { out = make(types.AuthorizationData, n) },
		func(i int, e der.Element) (err error) {
			out[i].ADType, out[i].ADData, err = typedValue(e, 0)
			return err
		})
	return out, err
}
