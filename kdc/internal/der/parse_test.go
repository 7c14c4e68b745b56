package der

import (
	"bytes"
	"encoding/asn1"
	"testing"
	"time"
)

// checkParse holds the Parse functions to encoding/asn1 on the contents c
// of an INTEGER, a BIT STRING and a GeneralizedTime: the same values where
// both accept; ParseGeneralizedTimeUTC takes only the YYYYMMDDHHMMSSZ
// subset of what encoding/asn1 takes, and never more.
func checkParse(t *testing.T, c []byte) {
	wrap := func(tag byte) []byte { return append(append([]byte{tag}, encodeLength(len(c))...), c...) }

	v, err := ParseInteger(c)
	var want int64
	_, wantErr := asn1.Unmarshal(wrap(TagInteger), &want)
	if (err != nil) != (wantErr != nil) || err == nil && v != want {
		t.Fatalf("INTEGER % x: %d, %v; encoding/asn1 %d, %v", c, v, err, want, wantErr)
	}

	bits, n, err := ParseBitString(c)
	var wantBits asn1.BitString
	_, wantErr = asn1.Unmarshal(wrap(TagBitString), &wantBits)
	if (err != nil) != (wantErr != nil) || err == nil && (n != wantBits.BitLength || !bytes.Equal(bits, wantBits.Bytes)) {
		t.Fatalf("BIT STRING % x: % x/%d, %v; encoding/asn1 %+v, %v", c, bits, n, err, wantBits, wantErr)
	}

	tm, err := ParseGeneralizedTimeUTC(c)
	var wantTime time.Time
	_, wantErr = asn1.UnmarshalWithParams(wrap(TagGeneralizedTime), &wantTime, "generalized")
	if err == nil && (wantErr != nil || !tm.Equal(wantTime) || tm.Location() != time.UTC) {
		t.Fatalf("GeneralizedTime %q: %v; encoding/asn1 %v, %v", c, tm, wantTime, wantErr)
	}
	if wantErr == nil && err != nil && len(c) == 15 && c[14] == 'Z' {
		t.Fatalf("GeneralizedTime %q: refused (%v), encoding/asn1 takes %v", c, err, wantTime)
	}
}

func encodeLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for v := n; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

// FuzzParse compares the Parse functions with encoding/asn1.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "\x00", "\x00\x01", "\xff\x80", "\x7f\xff\xff\xff\xff\xff\xff\xff", "\x00\x80\x00\x00\x00\x00\x00\x00\x00",
		"\x07\x80", "\x01\x01", "\x08\x00", "\x00\x40\x81\x00\x10",
		"20261205091712Z", "20240229000000Z", "20230229000000Z", "20261205246000Z", "20261205091760Z",
		"20261205091712+0100", "20261205091712.5Z", "2026120509171Z", "00000101000000Z",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkParse)
}

func TestParseEdges(t *testing.T) {
	for _, s := range []string{
		"20261205091712Z", "20240229000000Z", "20230229000000Z", "20261305091712Z", "20261231235959Z",
		"20261205091712+0100", "2026-12-05T09Z00", "20261205091712z", "\x00\x80", "\x80",
	} {
		checkParse(t, []byte(s))
	}
	if _, err := ParseGeneralizedTimeUTC([]byte("20261205091712+0000")); err == nil {
		t.Error("an offset (even +0000) is not KerberosTime")
	}
}
