package kdc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/jcmturner/gokrb5/v8/messages"
)

// FuzzHandle feeds arbitrary bytes to the protocol engine. Whatever comes
// in, it must not panic, and what it sends back must be nothing or a
// well-formed KRB-ERROR, AS-REP or TGS-REP; and only a request that decodes
// as an AS-REQ or TGS-REQ of pvno 5 may be answered (no amplification of
// junk).
func FuzzHandle(f *testing.F) {
	k := newTestKDC(f)
	k.h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	f.Add(k.asReq(f, asReq{client: "alice"}))
	f.Add(k.asReq(f, asReq{client: "alice", preauthKey: &key}))
	f.Add(k.asReq(f, asReq{client: "svc", etypes: []int32{20, 19, 18, 17, 23}}))
	tgt, part := k.tgt(f)
	f.Add(k.tgsReq(f, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"}))
	f.Add(k.tgsReq(f, tgsReq{tgt: tgt, sessionKey: part.Key, service: "krbtgt/" + testRealm}))
	for _, g := range goldenRequests(f) {
		f.Add(g)
	}
	f.Add([]byte{0x6a, 0x80})
	f.Add([]byte{0x6c, 0x84, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		reply := k.handle(data)
		if reply == nil {
			return
		}
		var asReq messages.ASReq
		var tgsReq messages.TGSReq
		if !(asReq.Unmarshal(data) == nil && asReq.PVNO == 5) && !(tgsReq.Unmarshal(data) == nil && tgsReq.PVNO == 5) {
			t.Fatalf("undecodable request % x answered with %d bytes", data[:min(len(data), 32)], len(reply))
		}
		var e messages.KRBError
		var as messages.ASRep
		var tgs messages.TGSRep
		if e.Unmarshal(reply) != nil && as.Unmarshal(reply) != nil && tgs.Unmarshal(reply) != nil {
			t.Fatalf("reply % x is neither KRB-ERROR nor AS-REP nor TGS-REP", reply)
		}
	})
}

// FuzzReadFrame checks the TCP framing never panics, never returns more
// than the limit and only succeeds on a well-formed record.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, []byte("hello")))
	f.Add([]byte{0x80, 0, 0, 1, 0})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0})
	const limit = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := ReadFrame(bytes.NewReader(data), limit)
		if err != nil {
			if len(data) >= 4 {
				n := binary.BigEndian.Uint32(data)
				if (n > limit || n&0x80000000 != 0) && !errors.Is(err, ErrFrameTooLong) {
					t.Fatalf("prefix %d: error %v, want ErrFrameTooLong", n, err)
				}
			}
			return
		}
		if len(frame) > limit || !bytes.Equal(AppendFrame(nil, frame), data[:4+len(frame)]) {
			t.Fatalf("frame of %d bytes does not match its input", len(frame))
		}
	})
}
