package kdc

import (
	"log/slog"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The health probe's own requests (its principal, from this host) are
// counted in kdcha_kdc_probe_requests_total and not as client traffic; the
// same principal from another host, and other principals from this host,
// are client traffic.
func TestProbeRequestsCountedApart(t *testing.T) {
	k := newTestKDC(t)
	reg := prometheus.NewRegistry()
	WithMetrics(reg)(k.h)
	WithProbeClient("alice@" + testRealm)(k.h)
	k.h.replies = newLookaside(lookasideTTL, 0) // the same request again is not a retransmission here
	local := netip.MustParseAddr("192.0.2.1")
	send := func(client, from string, to netip.Addr) {
		k.h.Handle(Request{Data: k.asReq(t, asReq{client: client}), From: netip.MustParseAddrPort(from), To: to, Transport: "udp"})
	}
	send("alice", "127.0.0.1:5000", netip.MustParseAddr("127.0.0.1")) // probe over loopback
	send("alice", "192.0.2.1:5000", local)                            // probe to the node's own address
	send("alice", "[::ffff:192.0.2.1]:5000", local)                   // the same, IPv4-mapped
	send("alice", "192.0.2.9:5000", local)                            // a remote client naming the probe principal
	send("svc", "127.0.0.1:5000", netip.MustParseAddr("127.0.0.1"))   // another local client

	if got := gathered(t, reg, "kdcha_kdc_probe_requests_total", "AS_REQ", "NEEDED_PREAUTH").GetCounter().GetValue(); got != 3 {
		t.Errorf("probe requests counted: %v, want 3", got)
	}
	if got := gathered(t, reg, "kdcha_kdc_requests_total", "AS_REQ", "NEEDED_PREAUTH").GetCounter().GetValue(); got != 1 {
		t.Errorf("client requests naming the probe principal: %v, want 1 (the remote one)", got)
	}
	if got := gathered(t, reg, "kdcha_kdc_requests_total", "AS_REQ", "ISSUE").GetCounter().GetValue(); got != 1 {
		t.Errorf("other local client requests: %v, want 1", got)
	}
	if got := gathered(t, reg, "kdcha_kdc_request_duration_seconds", "AS_REQ").GetHistogram().GetSampleCount(); got != 2 {
		t.Errorf("client request durations observed: %d, want 2", got)
	}
}

// gathered returns the metric name of reg whose label values are values,
// in order; it fails the test when there is none.
func gathered(t *testing.T, reg *prometheus.Registry, name string, values ...string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(values) {
				continue
			}
			for i, l := range m.GetLabel() {
				if l.GetValue() != values[i] {
					continue metrics
				}
			}
			return m
		}
	}
	t.Fatalf("no metric %s%q", name, values)
	return nil
}

// TestProbeLinesAtDebug: the agent's own probe's successful requests are
// logged at debug (they come every second on every node), its failures
// stay warnings, and a remote client naming the probe principal, like any
// other client, stays at info.
func TestProbeLinesAtDebug(t *testing.T) {
	for _, tt := range []struct {
		status string
		probe  bool
		want   slog.Level
	}{
		{"ISSUE", true, slog.LevelDebug},
		{"NEEDED_PREAUTH", true, slog.LevelDebug},
		{"KDC_ERR_PREAUTH_FAILED", true, slog.LevelWarn},
		{"ISSUE", false, slog.LevelInfo},
		{"KDC_ERR_PREAUTH_FAILED", false, slog.LevelWarn},
	} {
		o := &outcome{status: tt.status, probe: tt.probe}
		if got := o.level(); got != tt.want {
			t.Errorf("status %s, probe %v: level %v, want %v", tt.status, tt.probe, got, tt.want)
		}
	}

	k := newTestKDC(t)
	rec := &lineRecorder{level: slog.LevelInfo}
	WithLogger(slog.New(rec))(k.h)
	WithProbeClient("alice@" + testRealm)(k.h)
	k.h.replies = newLookaside(lookasideTTL, 0)
	local := netip.MustParseAddr("192.0.2.1")
	k.h.Handle(Request{Data: k.asReq(t, asReq{client: "alice"}), From: netip.MustParseAddrPort("192.0.2.1:5000"), To: local, Transport: "udp"})
	if len(rec.msgs) != 0 {
		t.Errorf("the local probe's request was logged at info: %q", rec.msgs)
	}
	k.h.Handle(Request{Data: k.asReq(t, asReq{client: "alice"}), From: netip.MustParseAddrPort("192.0.2.9:5000"), To: local, Transport: "udp"})
	if len(rec.msgs) != 1 {
		t.Errorf("a remote client naming the probe principal: %d lines at info, want 1", len(rec.msgs))
	}
}
