package health

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The tests in this file produce figures rather than check behaviour; they
// run only with KDCHA_HEALTH_MEASURE=1 (and MIT krb5 installed):
//
//	KDCHA_HEALTH_MEASURE=1 go test ./health/ -run Measure -v
func skipUnlessMeasuring(t *testing.T) {
	t.Helper()
	if os.Getenv("KDCHA_HEALTH_MEASURE") == "" {
		t.Skip("set KDCHA_HEALTH_MEASURE=1 to measure probe latency and detection time")
	}
}

// TestMeasureProbeLatency prints kinit probe latency percentiles against a
// local MIT krb5kdc, 1000 sequential runs per variant.
func TestMeasureProbeLatency(t *testing.T) {
	skipUnlessMeasuring(t)
	k := startMITKDC(t)
	const runs = 1000
	for _, tc := range []struct {
		name    string
		tr      Transport
		service string
	}{
		{"udp AS (2 round trips)", TransportUDP, ""},
		{"tcp AS (2 connections)", TransportTCP, ""},
		{"udp AS+TGS (3 round trips)", TransportUDP, k.service},
		{"tcp AS+TGS (3 connections)", TransportTCP, k.service},
	} {
		p := k.probe(t, tc.tr, tc.service)
		var ds []time.Duration
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; i < runs && time.Now().Before(deadline); i++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			r := p.Run(ctx)
			cancel()
			if !r.OK() {
				t.Fatalf("%s run %d: %v", tc.name, i, r.Err)
			}
			ds = append(ds, r.Duration)
		}
		slices.Sort(ds)
		t.Logf("%-28s n=%d p50=%v p90=%v p99=%v max=%v", tc.name, len(ds),
			pct(ds, .50), pct(ds, .90), pct(ds, .99), ds[len(ds)-1])
	}
}

func pct(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)].Round(time.Microsecond)
}

// TestMeasureDetectionTime freezes a local MIT krb5kdc (SIGSTOP) at a random
// phase of the probe interval and measures, through the real Runner and
// Tracker with the default kinit settings (interval 500ms, timeout 500ms,
// fall 2, rise 2, weight -253), the time until the published priority delta drops,
// then the time from SIGCONT until it is restored.
//
// Expected: the first probe starting after the freeze begins within one
// interval, and fall probes must time out, so
// (fall-1)·interval + timeout <= detection <= fall·interval + timeout,
// i.e. 1 s to 1.5 s. With timeout = interval a probe is always in flight
// while the KDC is frozen and is answered as soon as it resumes, so
// recovery takes (rise-1)·interval = 0.5 s.
func TestMeasureDetectionTime(t *testing.T) {
	skipUnlessMeasuring(t)
	k := startMITKDC(t)
	cfg := Config{Checks: []CheckConfig{{Type: CheckKinit, KDC: k.addr, Principal: k.principal, Keytab: k.keytab}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks, err := NewChecks(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type change struct {
		at time.Time
		v  Verdict
	}
	changes := make(chan change, 64)
	r := NewRunner(checks, RunnerOptions{Logger: quietLogger(), OnChange: func(v Verdict) { changes <- change{time.Now(), v} }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	waitFor := func(delta int) time.Time {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case c := <-changes:
				if c.v.Delta == delta && !c.v.Pending {
					return c.at
				}
			case <-timeout:
				t.Fatalf("delta %d not published within 10s", delta)
			}
		}
	}
	waitFor(0)
	const rounds = 5
	var detect, recover []time.Duration
	for range rounds {
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		frozen := time.Now()
		k.signal(t, syscall.SIGSTOP)
		detect = append(detect, waitFor(-253).Sub(frozen))
		resumed := time.Now()
		k.signal(t, syscall.SIGCONT)
		recover = append(recover, waitFor(0).Sub(resumed))
	}
	slices.Sort(detect)
	slices.Sort(recover)
	t.Logf("detection (freeze -> delta -253) over %d rounds: min=%v median=%v max=%v all=%v",
		rounds, detect[0], detect[rounds/2], detect[rounds-1], detect)
	t.Logf("recovery (SIGCONT -> delta 0)    over %d rounds: min=%v median=%v max=%v",
		rounds, recover[0], recover[rounds/2], recover[rounds-1])
	lo := time.Duration(DefaultKinitFall-1)*DefaultKinitInterval + DefaultKinitTimeout
	hi := time.Duration(DefaultKinitFall)*DefaultKinitInterval + DefaultKinitTimeout
	if detect[0] < lo-100*time.Millisecond || detect[rounds-1] > hi+300*time.Millisecond {
		t.Errorf("detection outside the expected [%v, %v] window: %v", lo, hi, detect)
	}
}
