package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/vrrp"
)

// nodeView is what `kdcha status` shows: one node at a glance.
type nodeView struct {
	Node    string            `json:"node"`
	Realm   string            `json:"realm"`
	KDC     []string          `json:"kdc"`
	Cluster *db.ClusterStatus `json:"cluster,omitempty"`
	VRRP    []instanceView    `json:"vrrp"`
	Health  *healthView       `json:"health,omitempty"`
}

type instanceView struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Priority uint8     `json:"priority"`
	Master   string    `json:"master,omitempty"`
	Since    time.Time `json:"since"`
	// Dropped are peers whose adverts this instance cannot use (an
	// authentication type mismatch): a likely split brain.
	Dropped []droppedView `json:"dropped,omitempty"`
}

type droppedView struct {
	Reason string    `json:"reason"`
	From   string    `json:"from"`
	Count  uint64    `json:"count"`
	Last   time.Time `json:"last"`
}

type healthView struct {
	Delta   int         `json:"delta"`
	Fault   bool        `json:"fault"`
	Pending bool        `json:"pending"`
	Reason  string      `json:"reason,omitempty"`
	Checks  []checkView `json:"checks"`
}

type checkView struct {
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Failures  int       `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
}

// liveStatus holds what the failover services publish once they run, for
// the status API (which starts before them).
type liveStatus struct {
	kdc       atomic.Pointer[[]string]
	instances atomic.Pointer[[]*vrrp.Instance]
	runner    atomic.Pointer[health.Runner]
}

// NodeStatus implements admin.Cluster.
func (m *member) NodeStatus(context.Context) (any, error) {
	v := nodeView{Realm: m.db.Realm()}
	if cs, err := m.db.ClusterStatus(); err == nil {
		v.Cluster = &cs
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
			iv := instanceView{Name: in.Name(), State: st.State.String(), Priority: st.Priority, Since: st.Since}
			if st.Master.IsValid() {
				iv.Master = st.Master.String()
			}
			for _, d := range st.Dropped {
				iv.Dropped = append(iv.Dropped, droppedView{Reason: d.Reason, From: d.Src.String(), Count: d.Count, Last: d.Last})
			}
			v.VRRP = append(v.VRRP, iv)
		}
	}
	if r := m.live.runner.Load(); r != nil {
		verdict := r.Verdict()
		h := &healthView{Delta: verdict.Delta, Fault: verdict.Fault, Pending: verdict.Pending, Reason: verdict.Reason}
		for _, s := range r.Statuses() {
			c := checkView{Name: s.Name, State: s.State.String(), Since: s.Since, Failures: s.Failures}
			if s.LastErr != nil {
				c.LastError = s.LastErr.Error()
			}
			h.Checks = append(h.Checks, c)
		}
		v.Health = h
	}
	return v, nil
}

func newStatusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the local node at a glance: KDC, cluster role, VRRP instances, health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v nodeView
			if err := adminClient(cmd).NodeStatus(cmd.Context(), &v); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			printNodeView(cmd.OutOrStdout(), v)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printNodeView(w io.Writer, v nodeView) {
	fmt.Fprintf(w, "node %s, realm %s, KDC on %s\n", orNone(v.Node), v.Realm, orNone(strings.Join(v.KDC, ", ")))
	if c := v.Cluster; c != nil {
		fmt.Fprintf(w, "cluster: %s, term %d, leader %s, applied %d/%d, %d members, %d principals\n",
			c.State, c.Term, orNone(c.LeaderID), c.AppliedIndex, c.CommitIndex, len(c.Members), c.Principals)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(v.VRRP) > 0 {
		fmt.Fprintln(tw, "\nVRRP\tSTATE\tPRIORITY\tMASTER\tSINCE")
		for _, in := range v.VRRP {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", in.Name, in.State, in.Priority, orNone(in.Master), in.Since.Format(time.RFC3339))
		}
		for _, in := range v.VRRP {
			for _, d := range in.Dropped {
				fmt.Fprintf(tw, "%s: adverts dropped: %s from %s (%d, last %s)\n", in.Name, d.Reason, d.From, d.Count, d.Last.Format(time.RFC3339))
			}
		}
	}
	if h := v.Health; h != nil {
		verdict := "healthy"
		switch {
		case h.Pending:
			verdict = "starting"
		case h.Fault:
			verdict = "FAULT: " + h.Reason
		case h.Reason != "":
			verdict = fmt.Sprintf("priority %+d: %s", h.Delta, h.Reason)
		}
		fmt.Fprintf(tw, "\nHEALTH\t%s\n", verdict)
		fmt.Fprintln(tw, "CHECK\tSTATE\tSINCE\tFAILURES\tLAST ERROR")
		for _, c := range h.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Name, c.State, c.Since.Format(time.RFC3339), c.Failures, c.LastError)
		}
	}
	tw.Flush()
}
