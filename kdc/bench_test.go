package kdc

import (
	"io"
	"log/slog"
	"testing"
)

// The benchmarks measure the protocol engine alone (decode, lookup, crypto,
// encode, the log line) on the in-memory database; run with -cpu 1 for
// per-core throughput:
//
//	go test -run '^$' -bench . -cpu 1 ./kdc/

func benchKDC(b *testing.B) *testKDC {
	k := newTestKDC(b)
	k.h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	// Every iteration sends the same bytes: without this the lookaside
	// cache would answer them all and the benchmark would measure a hash.
	k.h.replies = newLookaside(lookasideTTL, 0)
	return k
}

func BenchmarkASPreauth(b *testing.B) {
	k := benchKDC(b)
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	req := k.asReq(b, asReq{client: "alice", preauthKey: &key})
	b.ReportAllocs()
	for b.Loop() {
		if r := k.handle(req); len(r) == 0 || r[0] != 0x6b {
			b.Fatal("no AS-REP")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkASPreauthRequired(b *testing.B) {
	k := benchKDC(b)
	req := k.asReq(b, asReq{client: "alice"})
	b.ReportAllocs()
	for b.Loop() {
		if r := k.handle(req); len(r) == 0 || r[0] != 0x7e {
			b.Fatal("no KRB-ERROR")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkTGS(b *testing.B) {
	k := benchKDC(b)
	tgt, part := k.tgt(b)
	req := k.tgsReq(b, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"})
	b.ReportAllocs()
	for b.Loop() {
		if r := k.handle(req); len(r) == 0 || r[0] != 0x6d {
			b.Fatal("no TGS-REP")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
