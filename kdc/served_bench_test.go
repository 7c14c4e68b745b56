package kdc

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The Served benchmarks run the same requests as BenchmarkASPreauth and
// BenchmarkTGS through the listener's per-request path (progress counters,
// fault hook, panic guard) with metrics registered, so the listener's
// bookkeeping is measured against the protocol work it wraps:
//
//	go test -run '^$' -bench Served -cpu 1 ./kdc/
func benchServer(b *testing.B) (*testKDC, *Server) {
	k := benchKDC(b)
	WithMetrics(prometheus.NewRegistry())(k.h)
	WithProbeClient("kdcha/health@" + testRealm)(k.h)
	return k, newServer(DefaultConfig(), k.h, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func BenchmarkServedASPreauth(b *testing.B) {
	k, s := benchServer(b)
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	req := Request{Data: k.asReq(b, asReq{client: "alice", preauthKey: &key}), Transport: "udp"}
	w := &worker{}
	b.ReportAllocs()
	for b.Loop() {
		if r := s.serveRequest(w, req); len(r) == 0 || r[0] != 0x6b {
			b.Fatal("no AS-REP")
		}
	}
}

func BenchmarkServedTGS(b *testing.B) {
	k, s := benchServer(b)
	tgt, part := k.tgt(b)
	req := Request{Data: k.tgsReq(b, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"}), Transport: "udp"}
	w := &worker{}
	b.ReportAllocs()
	for b.Loop() {
		if r := s.serveRequest(w, req); len(r) == 0 || r[0] != 0x6d {
			b.Fatal("no TGS-REP")
		}
	}
}

// BenchmarkProgressBookkeeping is what serveRequest adds around a request
// (clock read, busy marks, completion count, fault check) on a handler
// that does nothing, to compare with the request costs above.
func BenchmarkProgressBookkeeping(b *testing.B) {
	s := newServer(DefaultConfig(), nopResponder{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w := &worker{}
	req := Request{Data: []byte{tagASReq}}
	for b.Loop() {
		s.serveRequest(w, req)
	}
}

// nopResponder answers nothing, instantly.
type nopResponder struct{}

func (nopResponder) Handle(Request) []byte                  { return nil }
func (nopResponder) ErrorReply(code int32, _ string) []byte { return nil }
