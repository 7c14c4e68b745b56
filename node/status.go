package node

import (
	"context"
	"sync/atomic"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/vrrp"
)

// liveStatus holds what the failover services publish once they run, for
// the status API (which starts before them).
type liveStatus struct {
	kdc       atomic.Pointer[[]string]
	instances atomic.Pointer[[]*vrrp.Instance]
	runner    atomic.Pointer[health.Runner]
}

// NodeStatus implements admin.Cluster.
func (m *Member) NodeStatus(context.Context) (admin.NodeStatus, error) {
	v := admin.NodeStatus{Realm: m.db.Realm()}
	if cs, err := m.db.ClusterStatus(); err == nil {
		rs := admin.RaftStatusOf(cs)
		v.Cluster = &rs
		v.Node = cs.NodeID
	}
	if m.live == nil {
		return v, nil
	}
	if a := m.live.kdc.Load(); a != nil {
		v.KDC = *a
	}
	if ins := m.live.instances.Load(); ins != nil {
		for _, in := range *ins {
			st := in.Status()
			iv := admin.InstanceStatus{Name: in.Name(), State: st.State.String(), Priority: st.Priority, Since: st.Since}
			if st.Master.IsValid() {
				iv.Master = st.Master.String()
			}
			for _, d := range st.Dropped {
				iv.Dropped = append(iv.Dropped, admin.DroppedAdverts{Reason: d.Reason, From: d.Src.String(), Count: d.Count, Last: d.Last})
			}
			v.VRRP = append(v.VRRP, iv)
		}
	}
	if r := m.live.runner.Load(); r != nil {
		verdict := r.Verdict()
		h := &admin.HealthStatus{Delta: verdict.Delta, Fault: verdict.Fault, Pending: verdict.Pending, Reason: verdict.Reason}
		for _, s := range r.Statuses() {
			c := admin.CheckStatus{Name: s.Name, State: s.State.String(), Since: s.Since, Failures: s.Failures}
			if s.LastErr != nil {
				c.LastError = s.LastErr.Error()
			}
			h.Checks = append(h.Checks, c)
		}
		v.Health = h
	}
	return v, nil
}
