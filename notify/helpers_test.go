package notify

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// waitLimit bounds every wait for something another goroutine does. It is
// far above what any of them needs, so a loaded machine slows the tests
// down but never fails them.
const waitLimit = 10 * time.Second

// quietLog discards the dispatcher's warnings, which the tests provoke.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// recv returns the next value from ch, failing the test after waitLimit.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// metric reads one sample of a notify metric for a sink from reg.
func metric(t *testing.T, reg *prometheus.Registry, name, sink string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "sink" && l.GetValue() == sink {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no metric %s{sink=%q}", name, sink)
	return 0
}

// closeNow closes d with a generous deadline, failing the test on error.
func closeNow(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
