package db

import (
	"fmt"
	"testing"
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
				if err := d.node.r.Snapshot().Error(); err != nil {
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

// BenchmarkSimilar measures one "did you mean" query against 10000 names
// (it compares only the query's neighbours, whatever the number of names).
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
