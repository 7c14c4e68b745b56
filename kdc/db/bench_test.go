package db

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/hashicorp/raft"
)

// BenchmarkCreate measures committed writes per second on one node
// (each is a Raft commit with an fsync of raft.db).
func BenchmarkCreate(b *testing.B) {
	d := openTestDB(b, b.TempDir())
	ctx := testCtx(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Create(ctx, CreateRequest{Name: fmt.Sprintf("svc/host%d", i), RandomKey: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkOpen measures how long a node takes to load N principals at
// start (ns/op), once replaying the Raft log, once from a snapshot. It
// includes the single-node election, shortened to 50-100 ms by the test
// options (about 1-2 s with Raft's default timeouts).
func BenchmarkOpen(b *testing.B) {
	const n = 500
	for _, snapshot := range []bool{false, true} {
		b.Run(fmt.Sprintf("principals=%d/snapshot=%v", n, snapshot), func(b *testing.B) {
			dir := b.TempDir()
			d, err := Open(testOptions(dir))
			if err != nil {
				b.Fatal(err)
			}
			ctx := testCtx(b)
			for i := 0; i < n; i++ {
				if _, err := d.Create(ctx, CreateRequest{Name: fmt.Sprintf("svc/host%d", i), RandomKey: true}); err != nil {
					b.Fatal(err)
				}
			}
			if snapshot {
				if err := d.node.(*raftNode).r.Snapshot().Error(); err != nil {
					b.Fatal(err)
				}
			}
			if err := d.Close(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, err := Open(testOptions(dir))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got := len(d.List()); got != n {
					b.Fatalf("loaded %d principals, want %d", got, n)
				}
				d.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRestore measures loading N principals from a snapshot into the
// FSM and index (decoding, unsealing every key), without Raft's election.
func BenchmarkRestore(b *testing.B) {
	const n = 10000
	mk := testMasterKey(b)
	src := newFSM(testRealm, mk, newIndex(testRealm), testLogger())
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc/host%d@%s", i, testRealm)
		comps, realm, _ := ParseName(name, "")
		pk, err := randomKeys(comps, realm, DefaultEncTypes)
		if err != nil {
			b.Fatal(err)
		}
		sk, err := sealKeys(mk, name, 1, pk)
		if err != nil {
			b.Fatal(err)
		}
		data, err := encodeCommand(&command{Op: opCreate, Name: name, KVNO: 1, Keys: sk})
		if err != nil {
			b.Fatal(err)
		}
		if res := src.Apply(&raft.Log{Index: uint64(i + 1), Data: data}).(*applyResult); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	snap, err := src.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sink.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := newFSM(testRealm, mk, newIndex(testRealm), testLogger())
		if err := dst.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "principals/s")
}

// BenchmarkSimilar measures one "did you mean" query against 10000 names
// (it is linear in the number of names).
func BenchmarkSimilar(b *testing.B) {
	idx := newIndex(testRealm)
	for i := 0; i < 10000; i++ {
		idx.put(&Principal{Name: fmt.Sprintf("svc%d/host%d.example.com@%s", i%50, i, testRealm)}, nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(idx.Similar("svc7/10.0.0.5@"+testRealm, 3)) != 3 {
			b.Fatal("no suggestions")
		}
	}
}
