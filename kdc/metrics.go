package kdc

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerMetrics are the KDC's request and TCP connection counters. Prometheus
// counters are atomic adds, so counting costs the request path no lock
// beyond the label lookup. A nil *handlerMetrics counts nothing.
type handlerMetrics struct {
	requests   *prometheus.CounterVec
	probe      *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	drops      *prometheus.CounterVec
	suppressed prometheus.Counter
	tcpClosed  *prometheus.CounterVec
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
//	kdcha_kdc_requests_total{exchange="AS_REQ|TGS_REQ",result="ISSUE|NEEDED_PREAUTH|<error name>"}
//	kdcha_kdc_request_duration_seconds{exchange}
//	kdcha_kdc_probe_requests_total{exchange,result}
//	kdcha_kdc_dropped_requests_total{reason="not_kdc_request|undecodable"}
//	kdcha_kdc_suppressed_warnings_total
//	kdcha_kdc_tcp_connections_closed_total{reason="evicted|limit|source_limit|request_timeout"}
func WithMetrics(reg prometheus.Registerer) HandlerOption {
	return func(h *Handler) {
		m := &handlerMetrics{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "kdcha_kdc_requests_total",
				Help: "KDC client requests answered, by exchange and result (ISSUE, NEEDED_PREAUTH or the KRB-ERROR name); the agent's own health probe is counted in kdcha_kdc_probe_requests_total.",
			}, []string{"exchange", "result"}),
			probe: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "kdcha_kdc_probe_requests_total",
				Help: "Requests of the agent's own health probe (kdcha/health from this host), by exchange and result; they are not in kdcha_kdc_requests_total or kdcha_kdc_request_duration_seconds, which count client traffic.",
			}, []string{"exchange", "result"}),
			duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "kdcha_kdc_request_duration_seconds",
				Help:    "Time to process one KDC request, socket excluded.",
				Buckets: prometheus.ExponentialBuckets(50e-6, 2, 12),
			}, []string{"exchange"}),
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
		reg.MustRegister(m.requests, m.probe, m.duration, m.drops, m.suppressed, m.tcpClosed)
		h.metrics = m
	}
}

func (m *handlerMetrics) observe(o *outcome, took time.Duration) {
	if m == nil {
		return
	}
	if o.probe {
		m.probe.WithLabelValues(o.exchange, o.status).Inc()
		return
	}
	m.requests.WithLabelValues(o.exchange, o.status).Inc()
	m.duration.WithLabelValues(o.exchange).Observe(took.Seconds())
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
