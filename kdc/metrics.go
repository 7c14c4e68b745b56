package kdc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerMetrics are the KDC's request counters. Prometheus counters are
// atomic adds, so counting costs the request path no lock beyond the label
// lookup.
type handlerMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// WithMetrics registers the KDC's metrics on reg:
//
//	kdcha_kdc_requests_total{exchange="AS_REQ|TGS_REQ",result="ISSUE|NEEDED_PREAUTH|<error name>"}
//	kdcha_kdc_request_duration_seconds{exchange}
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
		}
		reg.MustRegister(m.requests, m.duration)
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
