package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/health"
)

// newProbeCommand runs the agent's kinit health probe by hand: to check a
// probe principal and keytab before putting them in a config, to see why a
// node's health is failing, and to measure probe latency.
func newProbeCommand() *cobra.Command {
	var (
		opts     health.KinitOptions
		tr       string
		timeout  time.Duration
		count    int
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "probe --principal P --keytab FILE",
		Short: "Run the kinit health probe against a KDC and report its result and latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Transport = health.Transport(tr)
			p, err := health.NewKinitProbe(opts)
			if err != nil {
				return err
			}
			var ok []time.Duration
			failures := 0
			var lastErr error
			for i := range count {
				if i > 0 && interval > 0 {
					time.Sleep(interval)
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
				r := p.Run(ctx)
				cancel()
				if r.OK() {
					ok = append(ok, r.Duration)
				} else {
					failures++
					lastErr = fmt.Errorf("%s: %w", r.Kind(), r.Err)
				}
				if count == 1 {
					if r.OK() {
						fmt.Fprintf(cmd.OutOrStdout(), "ok in %v\n", r.Duration.Round(time.Microsecond))
					} else {
						fmt.Fprintf(cmd.OutOrStdout(), "failed after %v (%s): %v\n", r.Duration.Round(time.Microsecond), r.Kind(), r.Err)
					}
				}
				if cmd.Context().Err() != nil {
					break
				}
			}
			if count > 1 {
				slices.Sort(ok)
				fmt.Fprintf(cmd.OutOrStdout(), "%s: n=%d failed=%d", p, len(ok)+failures, failures)
				if len(ok) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), " p50=%v p90=%v p99=%v max=%v", pct(ok, .50), pct(ok, .90), pct(ok, .99), ok[len(ok)-1].Round(time.Microsecond))
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			if failures > 0 {
				return errors.Join(fmt.Errorf("%d of %d probes failed", failures, len(ok)+failures), lastErr)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.KDC, "kdc", health.DefaultKDC, "KDC host:port")
	f.StringVar(&tr, "transport", string(health.DefaultTransport), "udp or tcp")
	f.StringVar(&opts.Principal, "principal", "", "probe principal, name[/instance]@REALM")
	f.StringVar(&opts.Keytab, "keytab", "", "keytab with the principal's keys")
	f.StringVar(&opts.Service, "service", "", "also get a ticket for this service")
	f.DurationVar(&timeout, "timeout", time.Second, "limit for one probe")
	f.IntVar(&count, "count", 1, "number of probes (more than 1 prints latency percentiles)")
	f.DurationVar(&interval, "interval", 0, "pause between probes")
	return cmd
}

// pct is the q-quantile of sorted durations (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)].Round(time.Microsecond)
}
