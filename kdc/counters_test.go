package kdc

import (
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestLatencyBucket(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{time.Nanosecond, 0},
		{50 * time.Microsecond, 0},
		{50*time.Microsecond + 1, 1},
		{100 * time.Microsecond, 1},
		{100*time.Microsecond + 1, 2},
		{102400 * time.Microsecond, 11},
		{102400*time.Microsecond + 1, 12},
		{time.Hour, 12},
	} {
		if got := latencyBucket(tt.d); got != tt.want {
			t.Errorf("latencyBucket(%s) = %d, want %d", tt.d, got, tt.want)
		}
		// The bucket's bound holds d, the previous one does not.
		bounds := LatencyBounds()
		if b := latencyBucket(tt.d); b < len(bounds) && tt.d.Seconds() > bounds[b] || b > 0 && tt.d.Seconds() <= bounds[b-1] {
			t.Errorf("%s in bucket %d of %v", tt.d, b, bounds)
		}
	}
}

func TestQuantile(t *testing.T) {
	bounds := []float64{0.001, 0.002, 0.004}
	for _, tt := range []struct {
		latency []uint64
		q       float64
		want    time.Duration
	}{
		{[]uint64{0, 0, 0, 0}, 0.5, 0},
		{[]uint64{100, 0, 0, 0}, 0.5, 500 * time.Microsecond},
		{[]uint64{50, 50, 0, 0}, 0.5, time.Millisecond},
		{[]uint64{50, 50, 0, 0}, 0.75, 1500 * time.Microsecond},
		{[]uint64{98, 0, 2, 0}, 0.99, 3 * time.Millisecond},
		{[]uint64{90, 0, 0, 10}, 0.99, 4 * time.Millisecond}, // beyond the last bound
	} {
		e := ExchangeStats{Latency: tt.latency}
		if got := e.Quantile(tt.q, bounds); got != tt.want {
			t.Errorf("%v q%v = %s, want %s", tt.latency, tt.q, got, tt.want)
		}
	}
}

// TestStatsCountEveryRequest: every request served over UDP and TCP is
// counted once in the workers' counters, the per-worker view sums to the
// total, and /metrics shows the same figures.
func TestStatsCountEveryRequest(t *testing.T) {
	k := newTestKDC(t)
	reg := prometheus.NewRegistry()
	WithMetrics(reg)(k.h)
	k.h.replies = newLookaside(lookasideTTL, 0) // the same request again is not a retransmission here
	s := serveTest(t, k, nil)
	addr := s.Addrs()[0].String()
	const udpN, tcpN = 20, 5
	var in, out uint64
	u, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	buf := make([]byte, 65536)
	for range udpN {
		req := k.asReq(t, asReq{client: "alice"})
		if _, err := u.Write(req); err != nil {
			t.Fatal(err)
		}
		u.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := u.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		in, out = in+uint64(len(req)), out+uint64(n)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	for range tcpN {
		req := k.asReq(t, asReq{client: "alice"})
		if _, err := c.Write(AppendFrame(nil, req)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := ReadFrame(c, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		in, out = in+uint64(len(req)), out+uint64(len(reply))
	}
	c.Close() // its counts must outlive it

	st := s.Stats(true)
	tot := st.Total
	if got := tot.AS.Results["NEEDED_PREAUTH"]; got != udpN+tcpN || tot.AS.Answered() != udpN+tcpN || tot.TGS.Answered() != 0 {
		t.Errorf("AS results %v, TGS %v: want %d NEEDED_PREAUTH", tot.AS.Results, tot.TGS.Results, udpN+tcpN)
	}
	if tot.BytesIn != in || tot.BytesOut != out {
		t.Errorf("bytes in/out %d/%d, want %d/%d", tot.BytesIn, tot.BytesOut, in, out)
	}
	var observed uint64
	for _, n := range tot.AS.Latency {
		observed += n
	}
	if observed != udpN+tcpN {
		t.Errorf("latency histogram holds %d requests, want %d", observed, udpN+tcpN)
	}
	var perWorker, tcp uint64
	for _, w := range st.Workers {
		perWorker += w.AS.Answered()
		if w.Worker == "tcp "+addr {
			tcp = w.AS.Answered()
		}
	}
	if perWorker != udpN+tcpN || tcp != tcpN {
		t.Errorf("workers sum to %d (tcp %d), want %d (%d): %+v", perWorker, tcp, udpN+tcpN, tcpN, st.Workers)
	}
	if got := gathered(t, reg, "kdcha_kdc_requests_total", "AS_REQ", "NEEDED_PREAUTH").GetCounter().GetValue(); got != udpN+tcpN {
		t.Errorf("kdcha_kdc_requests_total = %v, want %d", got, udpN+tcpN)
	}
	if got := gathered(t, reg, "kdcha_kdc_request_duration_seconds", "AS_REQ").GetHistogram().GetSampleCount(); got != udpN+tcpN {
		t.Errorf("kdcha_kdc_request_duration_seconds count = %v, want %d", got, udpN+tcpN)
	}
	if got := gathered(t, reg, "kdcha_kdc_request_bytes_total").GetCounter().GetValue(); got != float64(in) {
		t.Errorf("kdcha_kdc_request_bytes_total = %v, want %d", got, in)
	}
}

// TestStatsSub: the counts between two snapshots are their difference.
func TestStatsSub(t *testing.T) {
	prev := WorkerStats{AS: ExchangeStats{Results: map[string]uint64{"ISSUE": 3, "NEEDED_PREAUTH": 2}, Latency: []uint64{1, 4}}, Shed: 1, BytesIn: 10}
	now := WorkerStats{AS: ExchangeStats{Results: map[string]uint64{"ISSUE": 5, "NEEDED_PREAUTH": 2, "KDC_ERR_PREAUTH_FAILED": 1}, Latency: []uint64{2, 7}}, Shed: 4, BytesIn: 25}
	d := now.Sub(prev)
	if len(d.AS.Results) != 2 || d.AS.Results["ISSUE"] != 2 || d.AS.Results["KDC_ERR_PREAUTH_FAILED"] != 1 || d.AS.Errors() != 1 {
		t.Errorf("results %v", d.AS.Results)
	}
	if d.AS.Latency[0] != 1 || d.AS.Latency[1] != 3 || d.Shed != 3 || d.BytesIn != 15 {
		t.Errorf("delta %+v", d)
	}
}
