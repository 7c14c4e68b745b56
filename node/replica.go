package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kdc/db"
)

// replicaProbe fails while this node's replica may be stale: no Raft
// leader known, or none heard from for longer than maxSilence. Such a node
// still answers logins (the VIP never depends on quorum), but a node that
// hears the leader is the better master: it has every acknowledged
// password change.
type replicaProbe struct {
	db         *db.DB
	maxSilence time.Duration
}

// replicaCheck turns replicaProbe into a health check whose weight is a
// hint, never a FAULT: the VIP must stay up when the whole cluster has
// lost quorum.
func replicaCheck(d *db.DB) health.Check {
	return health.Check{
		Name:     "replica",
		Probe:    replicaProbe{db: d, maxSilence: 5 * time.Second},
		Interval: time.Second,
		Timeout:  time.Second,
		Track:    health.TrackParams{Rise: 2, Fall: 2, Weight: -50},
	}
}

func (p replicaProbe) String() string {
	return fmt.Sprintf("raft leader heard within %v", p.maxSilence)
}

// Run implements health.Probe.
func (p replicaProbe) Run(context.Context) health.Result {
	start := time.Now()
	r := health.Result{Start: start}
	st, err := p.db.ClusterStatus()
	switch {
	case err != nil:
		r.Err = err
	case st.State == db.RoleLeader:
	case st.LeaderID == "":
		r.Err = errors.New("no raft leader known: this replica may miss recent changes")
	case !st.LastContact.IsZero() && start.Sub(st.LastContact) > p.maxSilence:
		r.Err = fmt.Errorf("raft leader %s last heard %v ago: this replica may miss recent changes", st.LeaderID, start.Sub(st.LastContact).Round(time.Second))
	}
	r.Duration = time.Since(start)
	return r
}
