package kdc

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerMetrics are the KDC's Prometheus metrics. Request counts live in
// the serving workers' counters (counters.go), summed by requestCollector at
// scrape time, so the request path takes no lock and shares no cache line;
// the rarer events (drops, suppressed warnings, TCP closes) are Prometheus
// counters. A nil *handlerMetrics counts nothing.
type handlerMetrics struct {
	drops      *prometheus.CounterVec
	suppressed prometheus.Counter
	tcpClosed  *prometheus.CounterVec

	// direct counts the requests handled outside a Server (Handle called
	// directly): tests and tools, never the request path.
	direct counters
	mu     sync.Mutex
	// servers are the Servers serving this Handler, whose workers'
	// counters are summed at scrape time. A closed Server stays listed so
	// that the totals never go down.
	servers []*Server
}

// Reasons for kdcha_kdc_dropped_requests_total.
const (
	dropNotKDC      = "not_kdc_request" // first byte is not an AS-REQ or TGS-REQ tag
	dropUndecodable = "undecodable"     // the tag is right, the rest does not decode
)

// Reasons for kdcha_kdc_tcp_connections_closed_total.
const (
	tcpClosedEvicted        = "evicted"         // least recently active, to admit a new one at the cap
	tcpClosedLimit          = "limit"           // at the cap with every connection handling a request
	tcpClosedSourceLimit    = "source_limit"    // its source address has too many
	tcpClosedRequestTimeout = "request_timeout" // a request not complete in time (slow sender or reader)
)

// WithMetrics registers the KDC's metrics on reg:
//
//	kdcha_kdc_requests_total{exchange="AS_REQ|TGS_REQ",result="ISSUE|NEEDED_PREAUTH|REPEAT|<error name>"}
//	kdcha_kdc_request_duration_seconds{exchange}
//	kdcha_kdc_probe_requests_total{exchange,result}
//	kdcha_kdc_shed_requests_total
//	kdcha_kdc_request_bytes_total, kdcha_kdc_reply_bytes_total
//	kdcha_kdc_dropped_requests_total{reason="not_kdc_request|undecodable"}
//	kdcha_kdc_suppressed_warnings_total
//	kdcha_kdc_tcp_connections_closed_total{reason="evicted|limit|source_limit|request_timeout"}
func WithMetrics(reg prometheus.Registerer) HandlerOption {
	return func(h *Handler) {
		m := &handlerMetrics{
			drops: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "kdcha_kdc_dropped_requests_total",
				Help: "KDC requests dropped without a reply: not a Kerberos request (not_kdc_request) or not decodable as an AS-REQ or TGS-REQ (undecodable).",
			}, []string{"reason"}),
			suppressed: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "kdcha_kdc_suppressed_warnings_total",
				Help: fmt.Sprintf("Per-request KDC warnings not logged because more than %d came in one second.", warnPerSecond),
			}),
			tcpClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "kdcha_kdc_tcp_connections_closed_total",
				Help: "KDC TCP connections the server closed or refused to bound its resources: evicted (least recently active idle one, to admit a new one at kdc.tcp_max_connections), limit (at the cap, none idle), source_limit (kdc.tcp_max_connections_per_source), request_timeout (kdc.tcp_request_timeout).",
			}, []string{"reason"}),
		}
		for _, r := range []string{dropNotKDC, dropUndecodable} {
			m.drops.WithLabelValues(r)
		}
		for _, r := range []string{tcpClosedEvicted, tcpClosedLimit, tcpClosedSourceLimit, tcpClosedRequestTimeout} {
			m.tcpClosed.WithLabelValues(r)
		}
		reg.MustRegister(m.drops, m.suppressed, m.tcpClosed, &requestCollector{m: m})
		h.metrics = m
	}
}

// attach adds s's workers to the metrics.
func (m *handlerMetrics) attach(s *Server) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.servers = append(m.servers, s)
	m.mu.Unlock()
}

// observe counts an answered request in c, the serving worker's counters,
// or in the Handler's own when it was not served by a Server.
func (m *handlerMetrics) observe(c *counters, o *outcome, took time.Duration) {
	if c == nil {
		if m == nil {
			return
		}
		c = &m.direct
	}
	c.observe(o, took)
}

// The request metrics' descriptions, served by requestCollector.
var (
	requestsDesc = prometheus.NewDesc("kdcha_kdc_requests_total",
		"KDC client requests answered, by exchange and result (ISSUE, NEEDED_PREAUTH, REPEAT or the KRB-ERROR name); the agent's own health probe is counted in kdcha_kdc_probe_requests_total.",
		[]string{"exchange", "result"}, nil)
	probeDesc = prometheus.NewDesc("kdcha_kdc_probe_requests_total",
		"Requests of the agent's own health probe (kdcha/health from this host), by exchange and result; they are not in kdcha_kdc_requests_total or kdcha_kdc_request_duration_seconds, which count client traffic.",
		[]string{"exchange", "result"}, nil)
	durationDesc = prometheus.NewDesc("kdcha_kdc_request_duration_seconds",
		"Time to process one KDC client request, socket excluded.",
		[]string{"exchange"}, nil)
	shedDesc = prometheus.NewDesc("kdcha_kdc_shed_requests_total",
		"KDC UDP requests dropped unanswered because they waited longer than kdc.request_max_age before being read: the client has already retransmitted them.",
		nil, nil)
	requestBytesDesc = prometheus.NewDesc("kdcha_kdc_request_bytes_total",
		"Bytes of the KDC requests handled (TCP length prefixes excluded).", nil, nil)
	replyBytesDesc = prometheus.NewDesc("kdcha_kdc_reply_bytes_total",
		"Bytes of the KDC replies sent (TCP length prefixes excluded).", nil, nil)
)

// requestCollector exports the request counters, summed over the workers
// of every attached Server at scrape time.
type requestCollector struct{ m *handlerMetrics }

// Describe implements prometheus.Collector.
func (rc *requestCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, probeDesc, durationDesc, shedDesc, requestBytesDesc, replyBytesDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Like the vectors it replaces,
// it lists only the exchange and result pairs seen.
func (rc *requestCollector) Collect(ch chan<- prometheus.Metric) {
	var sum counters
	rc.m.direct.addTo(&sum)
	rc.m.mu.Lock()
	servers := rc.m.servers
	rc.m.mu.Unlock()
	for _, s := range servers {
		s.sumInto(&sum, nil)
	}
	bounds := LatencyBounds()
	for x := range numExchanges {
		ex := exchangeNames[x]
		for r := range numResults {
			if n := sum.requests[x][r].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), ex, resultNames[r])
			}
			if n := sum.probe[x][r].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(probeDesc, prometheus.CounterValue, float64(n), ex, resultNames[r])
			}
		}
		var count uint64
		buckets := make(map[float64]uint64, len(bounds))
		for b, le := range bounds {
			count += sum.latency[x][b].Load()
			buckets[le] = count
		}
		count += sum.latency[x][numLatencyBounds].Load()
		if count > 0 {
			secs := time.Duration(sum.latencyNs[x].Load()).Seconds()
			ch <- prometheus.MustNewConstHistogram(durationDesc, count, secs, buckets, ex)
		}
	}
	ch <- prometheus.MustNewConstMetric(shedDesc, prometheus.CounterValue, float64(sum.shed.Load()))
	ch <- prometheus.MustNewConstMetric(requestBytesDesc, prometheus.CounterValue, float64(sum.bytesIn.Load()))
	ch <- prometheus.MustNewConstMetric(replyBytesDesc, prometheus.CounterValue, float64(sum.bytesOut.Load()))
}

func (m *handlerMetrics) dropped(reason string) {
	if m != nil {
		m.drops.WithLabelValues(reason).Inc()
	}
}

func (m *handlerMetrics) suppressedWarning() {
	if m != nil {
		m.suppressed.Inc()
	}
}

func (m *handlerMetrics) closedTCP(reason string) {
	if m != nil {
		m.tcpClosed.WithLabelValues(reason).Inc()
	}
}
