package kdc

import (
	"fmt"
	"time"
)

// Stats is a snapshot of a Server's request counters, summed over its
// workers when asked: the source of `kdcha stats` (through the admin API)
// and of the request metrics on /metrics.
type Stats struct {
	// At is when the snapshot was taken (the server's clock).
	At time.Time `json:"at"`
	// LatencyBounds are the latency histogram's bucket bounds in seconds
	// (LatencyBounds()).
	LatencyBounds []float64 `json:"latency_bounds"`
	// Total sums every worker.
	Total WorkerStats `json:"total"`
	// Workers, when asked for, holds one entry per UDP reader and one per
	// TCP listener (its connections, open and closed).
	Workers []WorkerStats `json:"workers,omitempty"`
}

// Stats returns the server's counters; perWorker adds each worker's own.
// It takes no lock on the request path.
func (s *Server) Stats(perWorker bool) Stats {
	st := Stats{At: s.now(), LatencyBounds: LatencyBounds()}
	var total counters
	var each func(string, *counters)
	if perWorker {
		each = func(name string, c *counters) { st.Workers = append(st.Workers, c.stats(name)) }
	}
	s.sumInto(&total, each)
	st.Total = total.stats("total")
	return st
}

// sumInto adds every worker's counters to total and, when each is not nil,
// calls it with every worker's own: one per UDP reader, one per TCP
// listener (its open and closed connections together: a connection lives
// for one request or a few).
func (s *Server) sumInto(total *counters, each func(name string, c *counters)) {
	for _, l := range s.progress {
		if l.transport == "udp" {
			for i, w := range l.udp {
				w.c.addTo(total)
				if each != nil {
					each(fmt.Sprintf("udp %s #%d", l.addr, i), &w.c)
				}
			}
			continue
		}
		var tcp counters
		l.mu.Lock()
		l.closed.addTo(&tcp)
		for w := range l.conns {
			w.c.addTo(&tcp)
		}
		l.mu.Unlock()
		tcp.addTo(total)
		if each != nil {
			each("tcp "+l.addr, &tcp)
		}
	}
}

// Sub returns the counts of w since prev (an earlier snapshot of the same
// worker): what happened in between.
func (w WorkerStats) Sub(prev WorkerStats) WorkerStats {
	return WorkerStats{Worker: w.Worker, AS: w.AS.sub(prev.AS), TGS: w.TGS.sub(prev.TGS),
		BytesIn: w.BytesIn - prev.BytesIn, BytesOut: w.BytesOut - prev.BytesOut, Shed: w.Shed - prev.Shed}
}

func (e ExchangeStats) sub(prev ExchangeStats) ExchangeStats {
	d := ExchangeStats{Results: subCounts(e.Results, prev.Results), Probe: subCounts(e.Probe, prev.Probe),
		Latency: make([]uint64, len(e.Latency)), LatencySeconds: e.LatencySeconds - prev.LatencySeconds}
	for i, n := range e.Latency {
		if i < len(prev.Latency) {
			n -= prev.Latency[i]
		}
		d.Latency[i] = n
	}
	return d
}

func subCounts(now, prev map[string]uint64) map[string]uint64 {
	var d map[string]uint64
	for k, n := range now {
		if n -= prev[k]; n > 0 {
			if d == nil {
				d = map[string]uint64{}
			}
			d[k] = n
		}
	}
	return d
}

// Answered counts the client requests of e, whatever their result.
func (e ExchangeStats) Answered() uint64 {
	var n uint64
	for _, c := range e.Results {
		n += c
	}
	return n
}

// Errors counts the client requests of e answered with a KRB-ERROR other
// than the preauthentication request, which is a normal step.
func (e ExchangeStats) Errors() uint64 {
	var n uint64
	for r, c := range e.Results {
		switch r {
		case resultNames[resultIssue], resultNames[resultNeededPreauth], resultNames[resultRepeat]:
		default:
			n += c
		}
	}
	return n
}

// Quantile estimates the q-quantile (0 < q <= 1) of the handling times in
// e.Latency, whose buckets are bounded by bounds, interpolating linearly
// inside a bucket as Prometheus' histogram_quantile does. It returns 0
// without requests, and the last bound when the quantile is beyond it.
func (e ExchangeStats) Quantile(q float64, bounds []float64) time.Duration {
	var total uint64
	for _, n := range e.Latency {
		total += n
	}
	if total == 0 || len(bounds) == 0 {
		return 0
	}
	rank := q * float64(total)
	var below uint64
	for i, n := range e.Latency {
		if n == 0 || float64(below+n) < rank {
			below += n
			continue
		}
		if i >= len(bounds) {
			break
		}
		lo := 0.0
		if i > 0 {
			lo = bounds[i-1]
		}
		secs := lo + (bounds[i]-lo)*(rank-float64(below))/float64(n)
		return time.Duration(secs * float64(time.Second))
	}
	return time.Duration(bounds[len(bounds)-1] * float64(time.Second))
}

// Interval is what one worker (or the total) did between two snapshots:
// the rows of `kdcha stats --watch`.
type Interval struct {
	// Worker is "total" or the worker's name.
	Worker string `json:"worker"`
	// Seconds is the time between the snapshots.
	Seconds float64 `json:"seconds"`
	// AS and TGS count the client requests answered; Errors those of
	// them answered with a KRB-ERROR other than the preauthentication
	// request; Probe the agent's own health probe's requests; Shed the
	// requests dropped for waiting longer than kdc.request_max_age.
	AS     uint64 `json:"as"`
	TGS    uint64 `json:"tgs"`
	Errors uint64 `json:"errors"`
	Probe  uint64 `json:"probe"`
	Shed   uint64 `json:"shed"`
	// BytesIn and BytesOut count request and reply bytes.
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
	// P50 and P99 are handling-time quantiles of the client requests
	// (both exchanges), in milliseconds, from the histogram's difference.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
}

// PerSecond is n over the interval's length.
func (iv Interval) PerSecond(n uint64) float64 {
	if iv.Seconds <= 0 {
		return 0
	}
	return float64(n) / iv.Seconds
}

// Intervals returns what happened between prev and now, two snapshots of
// one Server: the total first, then each worker of now (one absent from
// prev counts from zero). With prev the zero Stats but for At, they are
// the counts since the Server started.
func Intervals(prev, now Stats) []Interval {
	secs := now.At.Sub(prev.At).Seconds()
	out := []Interval{interval(now.Total.Sub(prev.Total), secs, now.LatencyBounds)}
	before := make(map[string]WorkerStats, len(prev.Workers))
	for _, w := range prev.Workers {
		before[w.Worker] = w
	}
	for _, w := range now.Workers {
		out = append(out, interval(w.Sub(before[w.Worker]), secs, now.LatencyBounds))
	}
	return out
}

// interval summarises the counts d of an interval of secs seconds.
func interval(d WorkerStats, secs float64, bounds []float64) Interval {
	both := ExchangeStats{Latency: make([]uint64, len(d.AS.Latency))}
	for i := range both.Latency {
		both.Latency[i] = d.AS.Latency[i]
		if i < len(d.TGS.Latency) {
			both.Latency[i] += d.TGS.Latency[i]
		}
	}
	var probe uint64
	for _, n := range d.AS.Probe {
		probe += n
	}
	for _, n := range d.TGS.Probe {
		probe += n
	}
	ms := func(q float64) float64 { return float64(both.Quantile(q, bounds)) / float64(time.Millisecond) }
	return Interval{Worker: d.Worker, Seconds: secs, AS: d.AS.Answered(), TGS: d.TGS.Answered(),
		Errors: d.AS.Errors() + d.TGS.Errors(), Probe: probe, Shed: d.Shed,
		BytesIn: d.BytesIn, BytesOut: d.BytesOut, P50: ms(0.5), P99: ms(0.99)}
}
