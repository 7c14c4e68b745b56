package kpasswd

import (
	"testing"
)

// FuzzDecodeRequest checks that any input decodes without panicking and
// that what decodes re-encodes to the same bytes.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte{0, 9, 0, 1, 0, 2, 0x6e, 0, 'p'})
	f.Add([]byte{0, 8, 0xff, 0x80, 0, 1, 0x6e, 0})
	f.Add([]byte{0, 6, 0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		again, err := EncodeRequest(r.Version, r.APReq, r.Priv)
		if err != nil || string(again) != string(b) {
			t.Fatalf("re-encoded %x, %v; input %x", again, err, b)
		}
	})
}

// FuzzDecodeChangePasswdData checks the set-password payload decoder.
func FuzzDecodeChangePasswdData(f *testing.F) {
	f.Add([]byte{0x30, 0x05, 0xa0, 0x03, 0x04, 0x01, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeChangePasswdData(b)
	})
}

// FuzzHandle runs whole requests through the server: whatever arrives,
// it answers or drops without panicking, and a reply is never a request
// (so two servers cannot loop).
func FuzzHandle(f *testing.F) {
	fx := newFixtureTB(f)
	f.Add([]byte{0, 9, 0, 1, 0, 2, 0x6e, 0, 'p'})
	f.Add([]byte{0, 8, 0xff, 0x80, 0, 1, 0x6e, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		reply := fx.handle(b)
		if reply != nil && fx.handle(reply) != nil {
			t.Fatalf("the reply to %x was answered in turn", b)
		}
	})
}
