package der

import (
	"bytes"
	"encoding/asn1"
	"testing"
)

// checkRead holds Read to encoding/asn1's header parsing (what the KDC used
// before): both accept or both refuse, and agree on the element and the rest.
func checkRead(t *testing.T, b []byte) {
	e, rest, err := Read(b)
	var raw asn1.RawValue
	wantRest, wantErr := asn1.Unmarshal(b, &raw)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("% x: Read error %v, encoding/asn1 error %v", b, err, wantErr)
	}
	if err != nil {
		return
	}
	if e.Class != raw.Class || e.Tag != raw.Tag || e.Constructed != raw.IsCompound || !bytes.Equal(e.Content, raw.Bytes) || !bytes.Equal(rest, wantRest) {
		t.Fatalf("% x: Read %+v rest % x, encoding/asn1 %+v rest % x", b, e, rest, raw, wantRest)
	}
}

// FuzzRead compares Read with encoding/asn1 on arbitrary input.
func FuzzRead(f *testing.F) {
	for _, s := range [][]byte{
		{}, {0x30}, {0x30, 0x00}, {0x6c, 0x03, 0x02, 0x01, 0x05, 0xff},
		{0x1f, 0x80, 0x01, 0x00}, {0x1f, 0x1e, 0x00}, {0x1f, 0x8f, 0xff, 0xff, 0xff, 0x7f, 0x00},
		{0x04, 0x80}, {0x04, 0x81, 0x7f}, {0x04, 0x82, 0x00, 0x80}, {0x04, 0x84, 0x7f, 0xff, 0xff, 0xff},
		append([]byte{0x04, 0x81, 0x80}, make([]byte, 0x80)...),
	} {
		f.Add(s)
	}
	f.Fuzz(checkRead)
}

func TestReadEdges(t *testing.T) {
	for _, b := range [][]byte{
		{0x1f, 0x80, 0x01, 0x00},                   // non-minimal tag
		{0x1f, 0x1e, 0x00},                         // low tag in high form
		{0x1f, 0x87, 0xff, 0xff, 0xff, 0x7f, 0x00}, // tag over 2^31
		{0x1f, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01}, // six tag bytes
		{0x04, 0x80},                               // indefinite length
		{0x04, 0x81, 0x7f},                         // non-minimal length
		{0x04, 0x82, 0x00, 0x80},                   // leading zero in length
		{0x04, 0x84, 0x7f, 0xff, 0xff, 0xff},       // length past the data
		{0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00}, // length too large
		{0x04, 0x02, 0x00},                         // truncated
		append([]byte{0x04, 0x81, 0x80}, make([]byte, 0x81)...),
		{0x7f, 0x81, 0x00, 0x01, 0x00},
	} {
		checkRead(t, b)
	}
}
