package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMeasureHungKDCDetection measures, with the default health settings,
// the time from a node's KDC going silent (its port black-holed while the
// agent runs: alive but hung) to the agent lowering its VRRP priority, and
// back. It prints figures and runs only with KDCHA_BENCH=1:
//
//	KDCHA_BENCH=1 go test ./cmd/kdcha -run MeasureHungKDC -v
func TestMeasureHungKDCDetection(t *testing.T) {
	if os.Getenv("KDCHA_BENCH") == "" {
		t.Skip("set KDCHA_BENCH=1 to measure hung-KDC detection time")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft (nftables) not installed")
	}
	l := newHALAN(t)
	n := l.addNode("n1", "192.0.2.1", 150, "      version: 3\n      advert_interval: 100ms\n")
	n.start(t)
	l.holder(5*time.Second, n)
	nft := func(rules string) {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", n.ns, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft: %v\n%s", err, out)
		}
	}
	verdict := regexp.MustCompile(`time=(\S+) level=\w+ msg="health verdict" delta=(-?\d+)`)
	// waitVerdict returns the log time of the first verdict with delta after
	// offset bytes of log.
	waitVerdict := func(delta string, offset int) time.Time {
		t.Helper()
		for range 200 {
			for _, m := range verdict.FindAllStringSubmatch(n.logs.String()[offset:], -1) {
				if m[2] == delta {
					at, err := time.Parse(time.RFC3339Nano, m[1])
					if err != nil {
						t.Fatal(err)
					}
					return at
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no verdict delta=%s", delta)
		return time.Time{}
	}
	const rounds = 5
	var detect, recover []time.Duration
	for range rounds {
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second))) + time.Second)
		offset := len(n.logs.String())
		hung := time.Now()
		nft("table inet hang {\n chain in {\n  type filter hook input priority 0;\n  udp dport 88 drop\n  tcp dport 88 drop\n }\n}\n")
		detect = append(detect, waitVerdict("-253", offset).Sub(hung))
		offset = len(n.logs.String())
		healed := time.Now()
		nft("delete table inet hang\n")
		recover = append(recover, waitVerdict("0", offset).Sub(healed))
	}
	slices.Sort(detect)
	slices.Sort(recover)
	t.Logf("hung KDC -> priority lowered, %d rounds: min=%v median=%v max=%v", rounds, detect[0].Round(time.Millisecond), detect[rounds/2].Round(time.Millisecond), detect[rounds-1].Round(time.Millisecond))
	t.Logf("KDC answers again -> priority restored:   min=%v median=%v max=%v", recover[0].Round(time.Millisecond), recover[rounds/2].Round(time.Millisecond), recover[rounds-1].Round(time.Millisecond))
}
