package mitdump

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestParseFigures generates a 100k-principal dump (two AES keys each,
// encrypted with the golden realm's master key) and times Parse plus
// ToImport (decryption included). Gated, it is a measurement:
//
//	KDCHA_BENCH=1 go test -run TestParseFigures -v ./mitdump/
func TestParseFigures(t *testing.T) {
	if os.Getenv("KDCHA_BENCH") == "" {
		t.Skip("set KDCHA_BENCH=1 to measure")
	}
	const n = 100000
	_, golden, mk := readGolden(t)
	km, _ := FindMasterKey(golden, "MIT.TEST")
	d := &Dump{Principals: []Principal{*km}}
	key := bytes.Repeat([]byte{7}, 32)
	for i := range n {
		name := fmt.Sprintf("user%06d@MIT.TEST", i)
		k1, _ := mk.Encrypt(name, 18, 1, key, []byte(fmt.Sprintf("MIT.TESTuser%06d", i)))
		k2, _ := mk.Encrypt(name, 17, 1, key[:16], []byte(fmt.Sprintf("MIT.TESTuser%06d", i)))
		d.Principals = append(d.Principals, Principal{BaseLength: 38, Name: name, Attributes: 0x80, Keys: []KeyData{k1, k2}})
	}
	var buf bytes.Buffer
	if err := Write(&buf, d); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	d2, err := Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := ToImport(d2, mk, "MIT.TEST")
	el := time.Since(start)
	if err != nil || len(req.Principals) != n {
		t.Fatalf("%d principals, %v", len(req.Principals), err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("dump of %d MiB: parse + decrypt %d principals in %s: %.0f principals/s; %d MiB allocated",
		buf.Len()>>20, n, el.Round(time.Millisecond), float64(n)/el.Seconds(), (after.TotalAlloc-before.TotalAlloc)>>20)
}
