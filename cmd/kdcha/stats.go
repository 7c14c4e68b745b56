package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc"
)

func newStatsCommand() *cobra.Command {
	var watch time.Duration
	var count int
	var perWorker, asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the local KDC's request counters, or with --watch their per-second rates like vmstat",
		Long: `Reads the KDC's per-worker counters through the admin socket. Without --watch
it prints the counts since the KDC started; with --watch it prints one line
per interval: client AS and TGS requests answered per second, errors (KRB-ERRORs
other than the preauthentication request), requests shed for waiting longer
than kdc.request_max_age, the health probe's requests, the handling time's
p50 and p99 over the interval, and bytes in and out. --per-worker adds a line
per UDP reader and per TCP listener. Reading costs the KDC no lock.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if watch < 0 || count < 0 {
				return errors.New("--watch and --count must not be negative")
			}
			if count > 0 && watch == 0 {
				return errors.New("--count needs --watch")
			}
			c := adminClient(cmd)
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			prev, err := c.KDCStats(ctx, perWorker)
			if err != nil {
				return err
			}
			if watch == 0 {
				return printIntervals(out, kdc.Intervals(kdc.Stats{At: prev.At}, prev), asJSON, true)
			}
			t := time.NewTicker(watch)
			defer t.Stop()
			for n := 0; count == 0 || n < count; n++ {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
				now, err := c.KDCStats(ctx, perWorker)
				if err != nil {
					return err
				}
				if err := printIntervals(out, kdc.Intervals(prev, now), asJSON, n == 0); err != nil {
					return err
				}
				prev = now
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&watch, "watch", 0, "print rates every interval (e.g. 1s) instead of the counts since start")
	f.IntVar(&count, "count", 0, "with --watch: stop after this many intervals (0: until interrupted)")
	f.BoolVar(&perWorker, "per-worker", false, "add a line per UDP reader and per TCP listener")
	f.BoolVar(&asJSON, "json", false, "print each interval as a JSON array of rows (counts, not rates)")
	return cmd
}

// printIntervals prints one interval's rows: the counts when it has no
// length (since start), per-second rates otherwise.
func printIntervals(w io.Writer, rows []kdc.Interval, asJSON, header bool) error {
	if asJSON {
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if header {
		unit := "/s"
		if rows[0].Seconds == 0 {
			unit = ""
		}
		fmt.Fprintf(w, "%-28s %9s %9s %8s %8s %7s %8s %8s %10s %10s\n", "worker",
			"as"+unit, "tgs"+unit, "err"+unit, "shed"+unit, "probe"+unit, "p50_ms", "p99_ms", "kB_in"+unit, "kB_out"+unit)
	}
	for _, r := range rows {
		v := func(n uint64) float64 {
			if r.Seconds == 0 {
				return float64(n)
			}
			return r.PerSecond(n)
		}
		_, err := fmt.Fprintf(w, "%-28s %9.0f %9.0f %8.0f %8.0f %7.0f %8.3f %8.3f %10.1f %10.1f\n", r.Worker,
			v(r.AS), v(r.TGS), v(r.Errors), v(r.Shed), v(r.Probe), r.P50, r.P99, v(r.BytesIn)/1000, v(r.BytesOut)/1000)
		if err != nil {
			return err
		}
	}
	return nil
}
