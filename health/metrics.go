package health

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the health checks:
//
//	kdcha_health_run_duration_seconds{check,result}  histogram of run time; result is "ok" or a FailureKind
//	kdcha_health_run_failures_total{check,kind}      failed runs by FailureKind
//	kdcha_health_run_skipped_total{check}            runs skipped because the previous one was still going
//	kdcha_health_check_up{check}                     1 while the tracker is up, else 0
//	kdcha_health_priority_delta                      Verdict.Delta fed to VRRP
//	kdcha_health_fault                               1 while Verdict.Fault
type Metrics struct {
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
	skipped  *prometheus.CounterVec
	up       *prometheus.GaugeVec
	delta    prometheus.Gauge
	fault    prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kdcha_health_run_duration_seconds",
			Help: "Duration of health check runs.",
			// A local KDC answers in about a millisecond; the top buckets
			// catch runs that ended at their timeout.
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"check", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kdcha_health_run_failures_total",
			Help: "Failed health check runs by kind of failure.",
		}, []string{"check", "kind"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kdcha_health_run_skipped_total",
			Help: "Health check runs skipped because the previous run was still going.",
		}, []string{"check"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kdcha_health_check_up",
			Help: "1 while the health check is up (after rise successes), else 0.",
		}, []string{"check"}),
		delta: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kdcha_health_priority_delta",
			Help: "Sum of the health checks' contributions to the VRRP priority.",
		}),
		fault: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kdcha_health_fault",
			Help: "1 while a weight-0 health check is not up (VRRP FAULT).",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.duration, m.failures, m.skipped, m.up, m.delta, m.fault} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register health metrics: %w", err)
	}
	return m, nil
}

func (m *Metrics) observe(check string, r Result) {
	if r.Skipped {
		m.skipped.WithLabelValues(check).Inc()
		return
	}
	kind := r.Kind().String()
	m.duration.WithLabelValues(check, kind).Observe(r.Duration.Seconds())
	if !r.OK() {
		m.failures.WithLabelValues(check, kind).Inc()
	}
}

func (m *Metrics) setState(check string, s Status) {
	up := 0.0
	if s.State == StateUp {
		up = 1
	}
	m.up.WithLabelValues(check).Set(up)
}

func (m *Metrics) setVerdict(v Verdict) {
	m.delta.Set(float64(v.Delta))
	fault := 0.0
	if v.Fault {
		fault = 1
	}
	m.fault.Set(fault)
}
