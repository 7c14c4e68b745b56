package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/admin"
)

func newStatusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the local node at a glance: KDC, cluster role, VRRP instances, health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v admin.NodeStatus
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

func printNodeView(w io.Writer, v admin.NodeStatus) {
	fmt.Fprintf(w, "node %s, realm %s, KDC on %s\n", orNone(v.Node), v.Realm, orNone(strings.Join(v.KDC, ", ")))
	if v.Mode != "" {
		fmt.Fprintf(w, "mode %s\n", v.Mode)
	}
	if c := v.Cluster; c != nil {
		fmt.Fprintf(w, "cluster: %s, term %d, leader %s, applied %d/%d, %d members, %d principals\n",
			c.State, c.Term, orNone(c.LeaderID), c.AppliedIndex, c.CommitIndex, len(c.Members), c.Principals)
	}
	for _, c := range v.RealmSettingsConflicts {
		fmt.Fprintf(w, "WARNING: realm setting overrides the configuration: %s\n", c)
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

// maxErrorWidth bounds an unreachable member's error line: the wrapped Go
// error can run to 200 columns, and the operator needs only its cause.
const maxErrorWidth = 100

// printClusterView prints `kdcha cluster status`: a header with the leader
// and term the members agree on (never this node's stale view alone), one
// row per member, then one short line per member that did not answer, so
// no error ends up in a table cell.
func printClusterView(w io.Writer, v admin.ClusterStatus) {
	voters, answered := 0, 0
	for _, m := range v.Members {
		if m.Voter {
			voters++
			if m.Error == "" {
				answered++
			}
		}
	}
	leader := "leader " + v.Leader
	if v.Leader == "" {
		leader = "no leader"
	}
	fmt.Fprintf(w, "cluster: %s, term %d, %d of %d voters answered\n", leader, v.Term, answered, voters)
	s := v.Self
	fmt.Fprintf(w, "this node %s: %s, last index %d, commit %d, applied %d, %d principals\n\n", s.NodeID, s.State, s.LastIndex, s.CommitIndex, s.AppliedIndex, s.Principals)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tADDRESS\tVOTER\tSTATE\tTERM\tAPPLIED\tLAG")
	var errs []string
	for _, m := range v.Members {
		if m.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%v\tunreachable\t-\t-\t-\n", m.ID, m.Address, m.Voter)
			errs = append(errs, fmt.Sprintf("%s: unreachable: %s", m.ID, shortError(m.Error)))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%d\t%d\t%d\n", m.ID, m.Address, m.Voter, m.State, m.Term, m.AppliedIndex, m.Lag)
	}
	tw.Flush()
	if len(errs) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(errs, "\n"))
	}
}

// shortError keeps the cause of a wrapped error ("dial tcp ...: connect:
// connection refused" gives "connection refused"), on one line, at most
// maxErrorWidth characters.
func shortError(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	if r := []rune(msg); len(r) > maxErrorWidth {
		msg = string(r[:maxErrorWidth-3]) + "..."
	}
	return msg
}
