package db

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkReplicatedWrite measures acknowledged creates on a 3-node
// cluster in this process (each node its own raft.db with fsync), proposed
// on the leader or on a follower (forwarded, then waited for locally), over
// the in-memory transport and over raft's TCP transport on loopback. The
// in-memory transport flatters latency; neither includes TLS or a real
// network RTT. Writes of one node are serialised (see DB.writeMu), so
// "parallel" runs one writer per node.
//
//	go test -run '^$' -bench ReplicatedWrite -benchtime 300x ./kdc/db/
func BenchmarkReplicatedWrite(b *testing.B) {
	for _, tcp := range []bool{false, true} {
		for _, via := range []string{"leader", "follower", "parallel"} {
			name := fmt.Sprintf("transport=%s/via=%s", map[bool]string{false: "inmem", true: "tcp"}[tcp], via)
			b.Run(name, func(b *testing.B) {
				c := newTestCluster(b)
				c.tcp = tcp
				startClusterOf(c, 3, nil)
				writers := []*DB{c.leader().db}
				switch via {
				case "follower":
					writers = []*DB{c.followers()[0].db}
				case "parallel":
					writers = nil
					for _, n := range c.all() {
						writers = append(writers, n.db)
					}
				}
				benchWrites(b, writers)
			})
		}
	}
}

// benchWrites runs b.N creates spread over writers (one goroutine each)
// and reports latency percentiles and throughput.
func benchWrites(b *testing.B, writers []*DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w, d := range writers {
		wg.Go(func() {
			for i := w; i < b.N; i += len(writers) {
				start := time.Now()
				if _, err := d.Create(ctx, CreateRequest{Name: fmt.Sprintf("svc/host%d", i), RandomKey: true}); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkLoad measures what a node pays to hold N principals: the time
// to restore them from a snapshot (decode, unseal every key, build the
// index; what a restart or a joining node does), the heap the replica
// keeps, and the snapshot size. 1M principals take about 20 s and 2-3 GB
// (building the snapshot included), so they run only with KDCHA_BENCH_1M=1:
//
//	go test -run '^$' -bench Load -benchtime 1x ./kdc/db/
//	KDCHA_BENCH_1M=1 go test -run '^$' -bench Load -benchtime 1x -timeout 30m ./kdc/db/
func BenchmarkLoad(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("KDCHA_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("principals=%d", n), func(b *testing.B) {
			mk := testMasterKey(b)
			snap := buildSnapshot(b, mk, n)
			b.ResetTimer()
			var heap uint64
			for range b.N {
				f := newFSM(testRealm, mk, newIndex(testRealm), testLogger())
				if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if f.count() != n {
					b.Fatalf("restored %d principals, want %d", f.count(), n)
				}
				// What the replica holds: the live heap with it minus the
				// live heap once it is unreachable.
				with := liveHeap()
				runtime.KeepAlive(f)
				without := liveHeap()
				heap = with - min(without, with)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
			b.ReportMetric(float64(heap)/float64(n), "heap-B/principal")
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(len(snap))/float64(n), "snapshot-B/principal")
		})
	}
}

// liveHeap is the heap held by reachable objects after a full collection
// (HeapAlloc; HeapInuse would also count freed space in partly used spans
// left by building the snapshot).
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// buildSnapshot returns the persisted snapshot of n random-key service
// principals with the default enctypes, built through the FSM.
func buildSnapshot(b *testing.B, mk *MasterKey, n int) []byte {
	b.Helper()
	f := newFSM(testRealm, mk, newIndex(testRealm), testLogger())
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for i := range n {
		name := fmt.Sprintf("svc%d/host%d.example.com@%s", i%50, i, testRealm)
		comps, realm, _ := ParseName(name, "")
		pk, err := randomKeys(comps, realm, DefaultEncTypes)
		if err != nil {
			b.Fatal(err)
		}
		sk, err := sealKeys(mk, name, 1, pk)
		if err != nil {
			b.Fatal(err)
		}
		res := f.apply(&command{Op: opCreate, Name: name, KVNO: 1, Keys: sk, Time: t0})
		if res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	s, err := f.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		b.Fatal(err)
	}
	return sink.Bytes()
}
