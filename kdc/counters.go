package kdc

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Request counters cost the request path no lock and no shared cache line
// (the kstat idea from issue 12): each worker goroutine (a UDP reader, a
// TCP connection) owns a counters block that only it writes, with atomic
// adds that never contend; readers (Stats, the Prometheus collector, the
// admin API) sum the blocks with atomic loads when asked. The result of a
// request is an index into a fixed table, so counting is a map lookup of
// the status and a few adds.

// Exchanges counted, by index.
const (
	exchangeAS = iota
	exchangeTGS
	numExchanges
)

// exchangeNames are the exchanges' label values, by index.
var exchangeNames = [numExchanges]string{"AS_REQ", "TGS_REQ"}

// Results are indexed by Kerberos error code below numErrorCodes (the
// registry ends at 93), then the statuses that are not errors.
const (
	numErrorCodes       = 128
	resultIssue         = numErrorCodes + iota - 1
	resultNeededPreauth // KDC_ERR_PREAUTH_REQUIRED, which is a normal step
	resultRepeat        // answered from the lookaside cache
	resultOther         // a status outside the table (never expected)
	numResults
)

// resultNames are the result label values (the request log's statuses),
// by index; resultIndex maps them back.
var resultNames, resultIndex = func() ([numResults]string, map[string]int) {
	var names [numResults]string
	for code := range numErrorCodes {
		names[code] = errorName(int32(code))
	}
	names[resultIssue] = "ISSUE"
	names[resultNeededPreauth] = "NEEDED_PREAUTH"
	names[resultRepeat] = "REPEAT"
	names[resultOther] = "OTHER"
	index := make(map[string]int, numResults)
	for i, n := range names {
		index[n] = i
	}
	return names, index
}()

// Latency buckets: upper bounds of latencyBase * 2^i for i below
// numLatencyBounds (50 us to 102.4 ms, the layout
// kdcha_kdc_request_duration_seconds always had), then +Inf.
const (
	latencyBase      = 50 * time.Microsecond
	numLatencyBounds = 12
)

// LatencyBounds are the upper bounds of the latency histogram's buckets,
// in seconds; a last bucket, without a bound, holds the slower requests.
func LatencyBounds() []float64 {
	b := make([]float64, numLatencyBounds)
	for i := range b {
		b[i] = (latencyBase << i).Seconds()
	}
	return b
}

// latencyBucket is the bucket of d: the first whose bound is >= d.
func latencyBucket(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	// The bucket of d is the bit length of ceil(d/base) - 1.
	return min(bits.Len64(uint64((d-1)/latencyBase)), numLatencyBounds)
}

// cacheLine pads counters so that two workers' blocks never share a line.
type cacheLine [64]byte

// counters are one worker's request counters. Every field only grows.
type counters struct {
	_ cacheLine
	// requests counts client requests answered, by exchange and result
	// (an undecodable one is dropped, counted in
	// kdcha_kdc_dropped_requests_total, not here).
	requests [numExchanges][numResults]atomic.Uint64
	// probe counts the agent's own health probe apart.
	probe [numExchanges][numResults]atomic.Uint64
	// latency counts client requests by handling-time bucket; latencyNs
	// sums their handling times.
	latency   [numExchanges][numLatencyBounds + 1]atomic.Uint64
	latencyNs [numExchanges]atomic.Uint64
	// bytesIn and bytesOut count request and reply bytes (without the
	// TCP length prefix).
	bytesIn, bytesOut atomic.Uint64
	// shed counts requests dropped unanswered because they waited longer
	// than kdc.request_max_age before a worker read them.
	shed atomic.Uint64
	_    cacheLine
}

// observe counts one answered request, by its outcome's exchange and
// status; took is its handling time.
func (c *counters) observe(o *outcome, took time.Duration) {
	x := exchangeAS
	if o.exchange != exchangeNames[exchangeAS] {
		x = exchangeTGS
	}
	r, ok := resultIndex[o.status]
	if !ok {
		r = resultOther
	}
	if o.probe {
		c.probe[x][r].Add(1)
		return
	}
	c.requests[x][r].Add(1)
	c.latency[x][latencyBucket(took)].Add(1)
	c.latencyNs[x].Add(uint64(took))
}

// addTo adds c's counts to sum. Reads are atomic loads; a request counted
// meanwhile may be in some fields and not yet in others, never half in one.
// Most fields of a block are zero (a worker sees few result codes), so only
// the others are added: merging a closed TCP connection's block is then a
// few hundred plain loads.
func (c *counters) addTo(sum *counters) {
	for x := range numExchanges {
		for r := range numResults {
			addLoaded(&sum.requests[x][r], &c.requests[x][r])
			addLoaded(&sum.probe[x][r], &c.probe[x][r])
		}
		for b := range numLatencyBounds + 1 {
			addLoaded(&sum.latency[x][b], &c.latency[x][b])
		}
		addLoaded(&sum.latencyNs[x], &c.latencyNs[x])
	}
	addLoaded(&sum.bytesIn, &c.bytesIn)
	addLoaded(&sum.bytesOut, &c.bytesOut)
	addLoaded(&sum.shed, &c.shed)
}

// addLoaded adds src's value to dst unless it is zero.
func addLoaded(dst, src *atomic.Uint64) {
	if v := src.Load(); v != 0 {
		dst.Add(v)
	}
}

// reset zeroes c for reuse by another worker.
func (c *counters) reset() { *c = counters{} }

// WorkerStats are the counters of one worker (or a sum of workers).
type WorkerStats struct {
	// Worker names it: "udp 127.0.0.1:88 #0" for a UDP reader, "tcp
	// 127.0.0.1:88" for a listener's connections, "total" for the sum.
	Worker string `json:"worker"`
	// AS and TGS are the two exchanges' counts.
	AS  ExchangeStats `json:"as"`
	TGS ExchangeStats `json:"tgs"`
	// BytesIn and BytesOut count request and reply bytes.
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
	// Shed counts requests dropped unanswered for waiting longer than
	// kdc.request_max_age.
	Shed uint64 `json:"shed"`
}

// ExchangeStats are the counts of one exchange.
type ExchangeStats struct {
	// Results counts client requests by result (ISSUE, NEEDED_PREAUTH,
	// REPEAT or the KRB-ERROR name); only results seen are listed.
	Results map[string]uint64 `json:"results,omitempty"`
	// Probe counts the agent's own health probe requests by result.
	Probe map[string]uint64 `json:"probe,omitempty"`
	// Latency holds client requests by handling time: Latency[i] for
	// i < len(LatencyBounds()) counts those within that bound and above
	// the previous one; the last entry counts the slower ones.
	Latency []uint64 `json:"latency"`
	// LatencySeconds sums the handling times.
	LatencySeconds float64 `json:"latency_seconds"`
}

// stats returns c's counts as WorkerStats named worker.
func (c *counters) stats(worker string) WorkerStats {
	ex := func(x int) ExchangeStats {
		e := ExchangeStats{Latency: make([]uint64, numLatencyBounds+1), LatencySeconds: time.Duration(c.latencyNs[x].Load()).Seconds()}
		for r := range numResults {
			if n := c.requests[x][r].Load(); n > 0 {
				if e.Results == nil {
					e.Results = map[string]uint64{}
				}
				e.Results[resultNames[r]] = n
			}
			if n := c.probe[x][r].Load(); n > 0 {
				if e.Probe == nil {
					e.Probe = map[string]uint64{}
				}
				e.Probe[resultNames[r]] = n
			}
		}
		for b := range e.Latency {
			e.Latency[b] = c.latency[x][b].Load()
		}
		return e
	}
	return WorkerStats{Worker: worker, AS: ex(exchangeAS), TGS: ex(exchangeTGS),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(), Shed: c.shed.Load()}
}
