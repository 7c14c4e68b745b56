package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// switchProbe succeeds while healthy is set; otherwise it fails, or with
// hang it blocks until its deadline like a frozen KDC.
type switchProbe struct {
	healthy atomic.Bool
	hang    atomic.Bool
	runs    atomic.Int32
}

func (p *switchProbe) Run(ctx context.Context) Result {
	p.runs.Add(1)
	start := time.Now()
	switch {
	case p.healthy.Load():
		return Result{Start: start, Duration: time.Since(start)}
	case p.hang.Load():
		<-ctx.Done()
		return Result{Start: start, Duration: time.Since(start), Err: failure(KindTimeout, "as-req", ErrNoReply)}
	default:
		return Result{Start: start, Duration: time.Since(start), Err: failure(KindKRBError, "as-req", &KRBError{Code: 24, Name: "PREAUTH_FAILED"})}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// nextVerdict waits up to 2 s for a published verdict.
func nextVerdict(t *testing.T, ch <-chan Verdict) Verdict {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(2 * time.Second):
		t.Fatal("no verdict published within 2s")
		return Verdict{}
	}
}

func TestRunnerPublishesVerdictChanges(t *testing.T) {
	probe := &switchProbe{}
	probe.healthy.Store(true)
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := make(chan Verdict, 16)
	r := NewRunner([]Check{{
		Name: "kinit", Probe: probe, Interval: 10 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Track: TrackParams{Rise: 2, Fall: 2, Weight: -50},
	}}, RunnerOptions{OnChange: func(v Verdict) { verdicts <- v }, Logger: quietLogger(), Metrics: metrics})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	if v := nextVerdict(t, verdicts); v != (Verdict{Delta: -50, Pending: true, Reason: "kinit has no result yet"}) {
		t.Errorf("initial verdict %+v", v)
	}
	if v := nextVerdict(t, verdicts); v != (Verdict{}) {
		t.Errorf("after the first success: %+v, want all clear", v)
	}
	probe.healthy.Store(false)
	v := nextVerdict(t, verdicts)
	if v.Delta != -50 || v.Fault || !strings.Contains(v.Reason, "kinit failed 2 times: krb-error: as-req") {
		t.Errorf("after fall failures: %+v", v)
	}
	probe.healthy.Store(true)
	if v := nextVerdict(t, verdicts); v != (Verdict{}) {
		t.Errorf("after rise successes: %+v, want all clear", v)
	}
	if st := r.Statuses(); len(st) != 1 || st[0].State != StateUp {
		t.Errorf("statuses %+v", st)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1s of cancel")
	}
	assertGauge(t, reg, "kdcha_health_priority_delta", 0)
	assertGauge(t, reg, "kdcha_health_check_up", 1)
	if n := counterSum(t, reg, "kdcha_health_run_failures_total"); n < 2 {
		t.Errorf("failures_total %v, want at least the 2 failures", n)
	}
}

// TestRunnerTimeoutBoundsRuns uses a probe that hangs until its deadline:
// each run must end at the check's timeout and count as a failure, and
// with weight 0 the verdict turns to FAULT.
func TestRunnerTimeoutBoundsRuns(t *testing.T) {
	probe := &switchProbe{}
	probe.hang.Store(true)
	verdicts := make(chan Verdict, 16)
	r := NewRunner([]Check{{
		Name: "kinit", Probe: probe, Interval: 20 * time.Millisecond, Timeout: 30 * time.Millisecond,
		Track: TrackParams{Rise: 1, Fall: 3, Weight: 0},
	}}, RunnerOptions{OnChange: func(v Verdict) { verdicts <- v }, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	go r.Run(ctx)

	if v := nextVerdict(t, verdicts); !v.Fault || !v.Pending {
		t.Errorf("initial verdict %+v, want pending fault", v)
	}
	// Init -> down on the first failure.
	v := nextVerdict(t, verdicts)
	if !v.Fault || v.Pending || !errors.Is(r.Statuses()[0].LastErr, ErrNoReply) {
		t.Errorf("verdict %+v, want fault after a timeout", v)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Errorf("first timeout observed after %v, want about 30ms", d)
	}
}

func assertGauge(t *testing.T, reg *prometheus.Registry, name string, want float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			if got := mf.GetMetric()[0].GetGauge().GetValue(); got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
			return
		}
	}
	t.Errorf("metric %s not found", name)
}

func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
