package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kdcha/kdcha/bench"
)

// TestBenchAgainstDev is the smoke test of `kdcha bench`: one second of
// each mode against `kdcha dev` over UDP and TCP, with --json; every
// reply must be of the mode's expected class and every sampled reply must
// decrypt.
func TestBenchAgainstDev(t *testing.T) {
	n := startDev(t, nil)
	n.kdcha("principal", "add", "host/bench", "--random-key")
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(n.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"as", "as-preauth", "tgs"} {
		for _, tr := range []string{"udp", "tcp"} {
			out := n.kdcha("bench", "--json", "--kdc", n.addr, "--realm", "DEV.KDCHA.TEST", "--client", "user",
				"--password-file", pw, "--service", "host/bench", "--mode", mode, "--transport", tr,
				"--concurrency", "4", "--duration", "500ms", "--warmup", "200ms", "--sample", "10")
			var r bench.Result
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%s/%s: not JSON: %v\n%s", mode, tr, err, out)
			}
			if r.OK == 0 || len(r.Errors) > 0 || r.BadSamples > 0 || r.Sampled == 0 || r.CPU.Cores <= 0 {
				t.Errorf("%s/%s: %s", mode, tr, out)
			}
		}
	}
	if _, err := n.run("", kdchaBin, "bench", "--kdc", n.addr, "--realm", "DEV.KDCHA.TEST", "--client", "user", "--mode", "tgs"); err == nil {
		t.Error("bench --mode tgs without password or service succeeded")
	}
}
