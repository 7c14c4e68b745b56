package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kdcha/kdcha/bench"
	"github.com/kdcha/kdcha/kdc"
)

// TestStatsAgreeWithBench: the KDC's counters, read with `kdcha stats`,
// grow during a `kdcha bench` run by exactly the number of replies the
// generator got (its health probe counted apart), over UDP and TCP; and
// `kdcha stats --watch` prints rates while a bench runs.
func TestStatsAgreeWithBench(t *testing.T) {
	n := startDev(t, nil)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(n.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	totals := func() kdc.Interval {
		t.Helper()
		var rows []kdc.Interval
		out := n.kdcha("stats", "--json", "--per-worker")
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) < 2 || rows[0].Worker != "total" {
			t.Fatalf("stats --json: %v\n%s", err, out)
		}
		var sum uint64
		for _, r := range rows[1:] {
			sum += r.AS + r.TGS
		}
		if sum != rows[0].AS+rows[0].TGS {
			t.Fatalf("workers sum to %d requests, total %d:\n%s", sum, rows[0].AS+rows[0].TGS, out)
		}
		return rows[0]
	}
	benchArgs := func(mode, transport, duration string) []string {
		args := []string{"bench", "--json", "--kdc", n.addr, "--realm", "DEV.KDCHA.TEST", "--client", "user",
			"--mode", mode, "--transport", transport,
			"--concurrency", "4", "--duration", duration, "--warmup", "0s", "--timeout", "5s", "--sample", "10"}
		if mode != "as" {
			args = append(args, "--password-file", pw)
		}
		return args
	}
	for _, tt := range []struct {
		mode, transport string
		setup           int64 // requests before the measured ones
	}{
		{"as", "udp", 0},
		{"as-preauth", "tcp", 1}, // the AS-REQ that learns the salt (bench/setup.go clientKey)
	} {
		before := totals()
		out := n.kdcha(benchArgs(tt.mode, tt.transport, "1s")...)
		after := totals()
		var r bench.Result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bench: %v\n%s", err, out)
		}
		replies := tt.setup
		for class, c := range r.Replies {
			if class == "timeout" || class == "network error" {
				t.Fatalf("%s/%s: %d %s: the KDC may have answered after the generator gave up\n%s", tt.mode, tt.transport, c, class, out)
			}
			replies += c
		}
		if replies == tt.setup || after.AS-before.AS != uint64(replies) || after.TGS != before.TGS || after.Errors != before.Errors {
			t.Errorf("%s/%s: KDC counted AS %d, TGS %d, errors %d; generator got %d replies (setup included)\n%s", tt.mode, tt.transport,
				after.AS-before.AS, after.TGS-before.TGS, after.Errors-before.Errors, replies, out)
		}
	}

	done := make(chan error, 1)
	go func() {
		_, err := n.run("", kdchaBin, benchArgs("as", "udp", "2s")...)
		done <- err
	}()
	out := n.kdcha("stats", "--watch", "400ms", "--count", "3")
	if err := <-done; err != nil {
		t.Fatalf("bench: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "worker") || !strings.Contains(lines[0], "as/s") {
		t.Fatalf("stats --watch --count 3: want a header and 3 lines:\n%s", out)
	}
	busy := false
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 10 || f[0] != "total" {
			t.Fatalf("line %q: want 10 fields for the total", l)
		}
		if rate, err := strconv.ParseFloat(f[1], 64); err == nil && rate > 0 {
			busy = true
		}
	}
	if !busy {
		t.Errorf("no AS requests per second during a bench:\n%s", out)
	}
	if _, err := n.run("", kdchaBin, "stats", "--count", "2"); err == nil {
		t.Error("stats --count without --watch succeeded")
	}
}
