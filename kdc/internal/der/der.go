// Package der appends ASN.1 DER elements to a byte slice without
// reflection: the primitives the KDC's hand-written encoders (package wire)
// are built from. An element is written as Open, its contents, Close: Close
// fixes the length once the contents are known, moving them only when the
// length needs more than one byte.
//
// It also reads (Read, and the Parse functions for the contents of
// primitive elements), for the decoders of package wire. It owns no
// Kerberos knowledge beyond KerberosTime's one form of GeneralizedTime. Its
// output is checked byte for byte against the reflection encoder
// (gofork/encoding/asn1) by the tests of package wire.
package der

import (
	"fmt"
	"time"
)

// Universal tags (constructed where the type always is).
const (
	TagInteger         = 0x02
	TagBitString       = 0x03
	TagOctetString     = 0x04
	TagSequence        = 0x30
	TagGeneralizedTime = 0x18
	TagGeneralString   = 0x1b
)

// Context is the identifier of a constructed context-specific tag [n]
// (an EXPLICIT field tag), n < 31.
func Context(n int) byte { return 0xa0 | byte(n) }

// Application is the identifier of a constructed APPLICATION n tag, n < 31.
func Application(n int) byte { return 0x60 | byte(n) }

// Open appends identifier id and a placeholder length, and returns the
// offset where the contents start, for Close.
func Open(b []byte, id byte) ([]byte, int) {
	b = append(b, id, 0)
	return b, len(b)
}

// Close sets the length of the element whose contents started at mark to
// everything appended since, in DER's minimal form.
func Close(b []byte, mark int) []byte {
	n := len(b) - mark
	if n < 0x80 {
		b[mark-1] = byte(n)
		return b
	}
	k := 1
	for v := n >> 8; v > 0; v >>= 8 {
		k++
	}
	b = append(b, make([]byte, k)...)
	copy(b[mark+k:], b[mark:mark+n])
	b[mark-1] = 0x80 | byte(k)
	for i := k - 1; i >= 0; i-- {
		b[mark+i] = byte(n)
		n >>= 8
	}
	return b
}

// AppendInteger appends an INTEGER in minimal two's complement.
func AppendInteger(b []byte, v int64) []byte {
	n := 1
	for i := v; i > 127; i >>= 8 {
		n++
	}
	for i := v; i < -128; i >>= 8 {
		n++
	}
	b = append(b, TagInteger, byte(n))
	for ; n > 0; n-- {
		b = append(b, byte(v>>uint((n-1)*8)))
	}
	return b
}

// AppendOctetString appends an OCTET STRING.
func AppendOctetString(b, v []byte) []byte {
	b, m := Open(b, TagOctetString)
	b = append(b, v...)
	return Close(b, m)
}

// AppendGeneralString appends a GeneralString (KerberosString): the bytes
// as they are, as the reflection encoder writes them.
func AppendGeneralString(b []byte, s string) []byte {
	b, m := Open(b, TagGeneralString)
	b = append(b, s...)
	return Close(b, m)
}

// AppendBitString appends a BIT STRING of bitLength bits held in bits; the
// unused-bits octet is computed from bitLength and bits is written as is.
func AppendBitString(b, bits []byte, bitLength int) []byte {
	b, m := Open(b, TagBitString)
	b = append(b, byte((8-bitLength%8)%8))
	b = append(b, bits...)
	return Close(b, m)
}

// AppendGeneralizedTime appends t as GeneralizedTime YYYYMMDDHHMMSSZ (in
// t's own zone, with a +hhmm/-hhmm suffix when that is not UTC, as the
// reflection encoder does); fractions of a second are dropped.
func AppendGeneralizedTime(b []byte, t time.Time) ([]byte, error) {
	year := t.Year()
	if year < 0 || year > 9999 {
		return b, fmt.Errorf("cannot represent year %d as GeneralizedTime", year)
	}
	_, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b, m := Open(b, TagGeneralizedTime)
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10))
	b = appendTwo(b, int(month))
	b = appendTwo(b, day)
	b = appendTwo(b, hour)
	b = appendTwo(b, minute)
	b = appendTwo(b, sec)
	_, offset := t.Zone()
	minutes := offset / 60
	switch {
	case minutes == 0:
		b = append(b, 'Z')
	default:
		sign := byte('+')
		if offset < 0 {
			sign, minutes = '-', -minutes
		}
		b = append(b, sign)
		b = appendTwo(b, minutes/60)
		b = appendTwo(b, minutes%60)
	}
	return Close(b, m), nil
}

func appendTwo(b []byte, v int) []byte {
	return append(b, byte('0'+(v/10)%10), byte('0'+v%10))
}
