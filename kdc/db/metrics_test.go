package db

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCollectors(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	for _, n := range []string{"a", "b"} {
		if _, err := d.Create(ctx, CreateRequest{Name: n, RandomKey: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Create(ctx, CreateRequest{Name: "a", RandomKey: true}); err == nil {
		t.Fatal("duplicate create succeeded")
	}
	if err := d.node.r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	for _, c := range d.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				got[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				got[key] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	tests := []struct {
		key  string
		want func(float64) bool
	}{
		{"kdcha_db_raft_state,state=Leader", func(v float64) bool { return v == 1 }},
		{"kdcha_db_raft_state,state=Follower", func(v float64) bool { return v == 0 }},
		{"kdcha_db_principals", func(v float64) bool { return v == 2 }},
		{"kdcha_db_raft_term", func(v float64) bool { return v >= 1 }},
		{"kdcha_db_raft_commit_index", func(v float64) bool { return v >= 4 }},
		{"kdcha_db_raft_apply_lag", func(v float64) bool { return v == 0 }},
		{"kdcha_db_raft_leader_changes_total", func(v float64) bool { return v >= 1 }},
		{"kdcha_db_snapshot_persist_seconds", func(v float64) bool { return v == 1 }},
		{"kdcha_db_write_seconds,op=create,result=ok", func(v float64) bool { return v == 2 }},
	}
	for _, tt := range tests {
		v, ok := got[tt.key]
		if !ok || !tt.want(v) {
			t.Errorf("%s = %v (present %v)", tt.key, v, ok)
		}
	}
	ch := make(chan prometheus.Metric, 32)
	d.Collectors()[0].Collect(ch)
	if n := len(ch); n != 10 {
		t.Errorf("state collector emitted %d series, want 10", n)
	}
}
