package kdc

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerMetrics are the KDC's request counters. Prometheus
// counters are atomic adds, so counting costs the request path no lock
// beyond the label lookup. A nil *handlerMetrics counts nothing.
type handlerMetrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	drops      *prometheus.CounterVec
	suppressed prometheus.Counter
}

// Reasons for kdcha_kdc_dropped_requests_total.
const (
	dropNotKDC      = "not_kdc_request" // first byte is not an AS-REQ or TGS-REQ tag
	dropUndecodable = "undecodable"     // the tag is right, the rest does not decode
)

// WithMetrics registers the KDC's metrics on reg:
//
//	kdcha_kdc_requests_total{exchange="AS_REQ|TGS_REQ",result="ISSUE|NEEDED_PREAUTH|<error name>"}
//	kdcha_kdc_request_duration_seconds{exchange}
//	kdcha_kdc_dropped_requests_total{reason="not_kdc_request|undecodable"}
//	kdcha_kdc_suppressed_warnings_total
func WithMetrics(reg prometheus.Registerer) HandlerOption {
	return func(h *Handler) {
		m := &handlerMetrics{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "kdcha_kdc_requests_total",
				Help: "KDC requests answered, by exchange and result (ISSUE, NEEDED_PREAUTH or the KRB-ERROR name).",
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
		}
		for _, r := range []string{dropNotKDC, dropUndecodable} {
			m.drops.WithLabelValues(r)
		}
		reg.MustRegister(m.requests, m.duration, m.drops, m.suppressed)
		h.metrics = m
	}
}

func (m *handlerMetrics) observe(o *outcome, took time.Duration) {
	if m == nil {
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
