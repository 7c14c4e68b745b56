package notify

import "github.com/prometheus/client_golang/prometheus"

// The metrics of every sink, labelled by the target name. They are read from
// the queues' own counters at scrape time, so publishing costs no metric
// update and the counts cannot disagree with what the logs say.
var (
	sentDesc = prometheus.NewDesc("kdcha_notify_sent_total",
		"Events delivered by a notify sink.", []string{"sink"}, nil)
	failedDesc = prometheus.NewDesc("kdcha_notify_failed_total",
		"Events a notify sink gave up on after its last attempt.", []string{"sink"}, nil)
	droppedDesc = prometheus.NewDesc("kdcha_notify_dropped_total",
		"Events discarded because a sink's queue was full or the dispatcher was closing.", []string{"sink"}, nil)
	queuedDesc = prometheus.NewDesc("kdcha_notify_queued",
		"Events waiting for a notify sink, not counting those being delivered.", []string{"sink"}, nil)
)

// collector exposes a Dispatcher's counters to Prometheus.
type collector struct{ d *Dispatcher }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sentDesc
	ch <- failedDesc
	ch <- droppedDesc
	ch <- queuedDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.d.queues {
		name := q.target.Name
		ch <- prometheus.MustNewConstMetric(sentDesc, prometheus.CounterValue, float64(q.sent.Load()), name)
		ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.CounterValue, float64(q.failed.Load()), name)
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(q.dropped.Load()), name)
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(q.length()), name)
	}
}
