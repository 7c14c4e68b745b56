package db

import (
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the database's own instruments; the Raft gauges are read on
// scrape by stateCollector so that nothing on the write or read path
// updates them.
type metrics struct {
	leaderChanges   prometheus.Counter
	snapshotPersist prometheus.Histogram
	applyLatency    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kdcha_db_raft_leader_changes_total",
			Help: "Leader changes this node observed, including losing the leader.",
		}),
		snapshotPersist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kdcha_db_snapshot_persist_seconds",
			Help:    "Time to write a Raft snapshot of the principal database.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		applyLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kdcha_db_write_seconds",
			Help:    "Time from an admin write on this node to its acknowledgement (committed and applied here), by operation and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"op", "result"}),
	}
}

// observeWrite records one write's latency.
func (m *metrics) observeWrite(o op, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.applyLatency.WithLabelValues(string(o), result).Observe(time.Since(start).Seconds())
}

// raftStates are the values of the kdcha_db_raft_state gauge's label.
var raftStates = []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown}

var (
	descState = prometheus.NewDesc("kdcha_db_raft_state",
		"1 for this node's current Raft state, 0 for the others.", []string{"state"}, nil)
	descTerm = prometheus.NewDesc("kdcha_db_raft_term",
		"Current Raft term.", nil, nil)
	descLast = prometheus.NewDesc("kdcha_db_raft_last_index",
		"Index of the last entry in this node's Raft log.", nil, nil)
	descCommit = prometheus.NewDesc("kdcha_db_raft_commit_index",
		"Highest Raft index this node knows to be committed.", nil, nil)
	descApplied = prometheus.NewDesc("kdcha_db_raft_applied_index",
		"Highest Raft index applied to this node's principal database.", nil, nil)
	descLag = prometheus.NewDesc("kdcha_db_raft_apply_lag",
		"Committed entries not yet applied here (commit index minus applied index).", nil, nil)
	descPrincipals = prometheus.NewDesc("kdcha_db_principals",
		"Principals in this node's replica (aliases not counted).", nil, nil)
)

// stateCollector reports the Raft gauges of one DB when scraped.
type stateCollector struct{ d *DB }

// Describe implements prometheus.Collector.
func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descTerm, descLast, descCommit, descApplied, descLag, descPrincipals} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.d.node.r
	state := r.State()
	for _, s := range raftStates {
		v := 0.0
		if s == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, s.String())
	}
	commit, applied := r.CommitIndex(), r.AppliedIndex()
	gauge := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	gauge(descTerm, r.CurrentTerm())
	gauge(descLast, r.LastIndex())
	gauge(descCommit, commit)
	gauge(descApplied, applied)
	gauge(descLag, commit-min(commit, applied))
	gauge(descPrincipals, uint64(c.d.fsm.count()))
}

// Collectors returns the database's Prometheus collectors (Raft state,
// term and indexes, leader changes, snapshot persist time, principal count
// and write latency), for the caller to register.
func (d *DB) Collectors() []prometheus.Collector {
	return []prometheus.Collector{stateCollector{d}, d.metrics.leaderChanges, d.metrics.snapshotPersist, d.metrics.applyLatency}
}
