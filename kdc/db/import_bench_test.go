package db

import (
	"fmt"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"testing"
	"time"
)

// TestImportFigures imports N principals (two AES keys each) in one run
// and prints principals per second and the heap peak. It is gated because
// it is a measurement, not a check:
//
//	KDCHA_BENCH=1 go test -run TestImportFigures -v ./kdc/db/   (N = 100000)
func TestImportFigures(t *testing.T) {
	if os.Getenv("KDCHA_BENCH") == "" {
		t.Skip("set KDCHA_BENCH=1 to measure")
	}
	const n = 100000
	d := openTestDB(t, t.TempDir())
	req := ImportRequest{}
	for i := range n {
		name := fmt.Sprintf("user%06d@%s", i, testRealm)
		salt := testRealm + fmt.Sprintf("user%06d", i)
		req.Principals = append(req.Principals, ImportPrincipal{Name: name, Attributes: Attributes{RequiresPreauth: true},
			Keys: []Key{importKey(18, 1, salt, byte(i)), importKey(17, 1, salt, byte(i+1))}})
	}
	runtime.GC()
	var peak uint64
	done := make(chan struct{})
	go func() {
		s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			rtmetrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	res, err := d.Import(testCtx(t), req)
	el := time.Since(start)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != n {
		t.Fatalf("created %d", len(res.Created))
	}
	t.Logf("imported %d principals in %s: %.0f principals/s; heap peak %d MiB",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(), peak>>20)
}
