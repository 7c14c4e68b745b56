package node

import (
	"context"
	"sync"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/vrrp"
)

// statusSource is what `kdcha status` reads of a VRRP instance.
type statusSource interface {
	Name() string
	Status() vrrp.Status
}

// verdictSource is what `kdcha status` reads of the health runner.
type verdictSource interface {
	Verdict() health.Verdict
	Statuses() []health.Status
}

// liveStatus holds what the running parts publish, for the status API
// (which starts before them, and outlives a reload's replacements).
type liveStatus struct {
	mu         sync.Mutex
	kdc        []string
	instances  []statusSource
	health     verdictSource
	lastReload *admin.ReloadStatus
}

func (l *liveStatus) setKDC(addrs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kdc = addrs
}

func (l *liveStatus) setInstances(ins []statusSource) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.instances = ins
}

func (l *liveStatus) setHealth(h verdictSource) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.health = h
}

func (l *liveStatus) setLastReload(r admin.ReloadStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastReload = &r
}

// fill adds the live parts to v.
func (l *liveStatus) fill(v *admin.NodeStatus) {
	l.mu.Lock()
	kdcAddrs, instances, h, reload := l.kdc, l.instances, l.health, l.lastReload
	l.mu.Unlock()
	v.KDC = kdcAddrs
	v.LastReload = reload
	for _, in := range instances {
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
	if h != nil {
		verdict := h.Verdict()
		hv := &admin.HealthStatus{Delta: verdict.Delta, Fault: verdict.Fault, Pending: verdict.Pending, Reason: verdict.Reason}
		for _, s := range h.Statuses() {
			c := admin.CheckStatus{Name: s.Name, State: s.State.String(), Since: s.Since, Failures: s.Failures}
			if s.LastErr != nil {
				c.LastError = s.LastErr.Error()
			}
			hv.Checks = append(hv.Checks, c)
		}
		v.Health = hv
	}
}

// NodeStatus implements admin.Cluster.
func (m *Member) NodeStatus(context.Context) (admin.NodeStatus, error) {
	v := admin.NodeStatus{Realm: m.db.Realm(), Mode: string(ModeKDC)}
	if cs, err := m.db.ClusterStatus(); err == nil {
		rs := admin.RaftStatusOf(cs)
		v.Cluster = &rs
		v.Node = cs.NodeID
	}
	if m.live != nil {
		m.live.fill(&v)
	}
	return v, nil
}
