package kpasswd

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		version uint16
		ap      string
		priv    string
		ok      bool
	}{
		{"change password", []byte{0, 9, 0, 1, 0, 2, 'a', 'p', 'p'}, 1, "ap", "p", true},
		{"set password", []byte{0, 8, 0xff, 0x80, 0, 1, 'a', 'p'}, 0xff80, "a", "p", true},
		{"unknown version decodes", []byte{0, 8, 0, 9, 0, 1, 'a', 'p'}, 9, "a", "p", true},
		{"empty", nil, 0, "", "", false},
		{"header only", []byte{0, 6, 0, 1, 0, 0}, 0, "", "", false},
		{"length too long", []byte{0, 9, 0, 1, 0, 1, 'a', 'p'}, 0, "", "", false},
		{"length too short", []byte{0, 7, 0, 1, 0, 1, 'a', 'p'}, 0, "", "", false},
		{"no KRB-PRIV", []byte{0, 8, 0, 1, 0, 2, 'a', 'p'}, 0, "", "", false},
		{"AP-REQ past the end", []byte{0, 8, 0, 1, 0xff, 0xff, 'a', 'p'}, 0, "", "", false},
		{"empty AP-REQ", []byte{0, 8, 0, 1, 0, 0, 'a', 'p'}, 0, "", "", false},
	}
	for _, tc := range tests {
		r, err := DecodeRequest(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v does not wrap ErrMalformed", tc.name, err)
			}
			continue
		}
		if r.Version != tc.version || string(r.APReq) != tc.ap || string(r.Priv) != tc.priv {
			t.Errorf("%s: got %+v", tc.name, r)
		}
		if again, err := EncodeRequest(r.Version, r.APReq, r.Priv); err != nil || !bytes.Equal(again, tc.in) {
			t.Errorf("%s: re-encoded %x, %v", tc.name, again, err)
		}
	}
}

func TestEncodeLimits(t *testing.T) {
	big := make([]byte, 0xffff-headerLen)
	if _, err := EncodeRequest(1, big[:1], big[1:]); err != nil {
		t.Fatalf("a 65535-byte request: %v", err)
	}
	if _, err := EncodeRequest(1, big, []byte{1}); err == nil {
		t.Fatal("a 65536-byte request was encoded")
	}
	if _, err := EncodeReply(big, []byte{1}); err == nil {
		t.Fatal("a 65536-byte reply was encoded")
	}
	r, err := EncodeReply(nil, []byte("err"))
	if err != nil || !bytes.Equal(r, []byte{0, 9, 0, 1, 0, 0, 'e', 'r', 'r'}) {
		t.Fatalf("reply %x, %v", r, err)
	}
}

func TestEncodeResult(t *testing.T) {
	if got := EncodeResult(ResultSoftError, "too short"); !bytes.Equal(got, append([]byte{0, 4}, "too short"...)) {
		t.Fatalf("got %x", got)
	}
	long := EncodeResult(ResultHardError, strings.Repeat("é", maxResultText))
	if len(long)-2 > maxResultText || !utf8.Valid(long[2:]) {
		t.Fatalf("long text: %d bytes, valid UTF-8 %v", len(long)-2, utf8.Valid(long[2:]))
	}
}

func TestDecodeChangePasswdData(t *testing.T) {
	if _, err := DecodeChangePasswdData([]byte{0x30, 0x03, 0xa0, 0x01}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
	good := []byte{0x30, 0x05, 0xa0, 0x03, 0x04, 0x01, 'x'}
	c, err := DecodeChangePasswdData(good)
	if err != nil || string(c.NewPasswd) != "x" || len(c.TargName.NameString) != 0 {
		t.Fatalf("got %+v, %v", c, err)
	}
	if _, err := DecodeChangePasswdData(append(good, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: %v", err)
	}
}
