package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/node"
)

// realmSettings is `kdcha realm settings show|set`: the realm-wide KDC
// limits replicated in the database, which every node's KDC applies.
func realmSettings() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show or change the realm-wide KDC limits (ticket lifetimes, lockout) every node applies",
		Long: `The realm settings live in the replicated database, so every node issues the
same ticket lifetimes and locks principals out alike. The first node of a realm
seeds them from its kdc section (max_life, max_renewable_life, lockout.*);
afterwards those keys in a node's configuration are ignored, and one that
disagrees is reported in its log, in 'kdcha status' and by 'kdcha check-config'.`,
	}
	cmd.AddCommand(realmSettingsShow(), realmSettingsSet())
	return cmd
}

func realmSettingsShow() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the realm settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := adminClient(cmd).RealmSettings(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			printRealmSettings(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func realmSettingsSet() *cobra.Command {
	var (
		maxLife, maxRenew, window, lockFor days
		failures                           int
		asJSON                             bool
	)
	cmd := &cobra.Command{
		Use:   "set [--max-life D] [--max-renewable-life D] [--lockout-max-failures N] [--lockout-window D] [--lockout-duration D]",
		Short: "Change realm settings (unset flags keep their value); every node applies them from its next request",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			var ch admin.RealmSettingsChange
			dur := func(name string, v days) *admin.Duration {
				if !f.Changed(name) {
					return nil
				}
				d := admin.Duration(v)
				return &d
			}
			ch.MaxLife = dur("max-life", maxLife)
			ch.MaxRenewableLife = dur("max-renewable-life", maxRenew)
			ch.LockoutWindow = dur("lockout-window", window)
			ch.LockoutDuration = dur("lockout-duration", lockFor)
			if f.Changed("lockout-max-failures") {
				ch.LockoutMaxFailures = &failures
			}
			if ch == (admin.RealmSettingsChange{}) {
				return fmt.Errorf("nothing to change: give at least one of --max-life, --max-renewable-life, --lockout-max-failures, --lockout-window, --lockout-duration")
			}
			s, err := adminClient(cmd).SetRealmSettings(cmd.Context(), ch)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			printRealmSettings(cmd.OutOrStdout(), s)
			return nil
		},
	}
	f := cmd.Flags()
	f.Var(&maxLife, "max-life", "maximum ticket lifetime (e.g. 10h)")
	f.Var(&maxRenew, "max-renewable-life", "maximum renewable lifetime (e.g. 7d; 0 disables renewable tickets)")
	f.IntVar(&failures, "lockout-max-failures", 0, "preauthentication failures within the window that lock a principal (0: no lockout)")
	f.Var(&window, "lockout-window", "how long a failure counts (e.g. 10m)")
	f.Var(&lockFor, "lockout-duration", "how long a lockout lasts (0: until 'principal modify --unlock')")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printRealmSettings(w io.Writer, s admin.RealmSettingsJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if !s.Stored {
		fmt.Fprintln(tw, "(not stored yet: each node applies its own kdc section until one seeds them)")
	}
	fmt.Fprintf(tw, "max_life\t%s\n", time.Duration(s.MaxLife))
	fmt.Fprintf(tw, "max_renewable_life\t%s\n", time.Duration(s.MaxRenewableLife))
	fmt.Fprintf(tw, "lockout_max_failures\t%d\n", s.LockoutMaxFailures)
	fmt.Fprintf(tw, "lockout_window\t%s\n", time.Duration(s.LockoutWindow))
	fmt.Fprintf(tw, "lockout_duration\t%s\n", time.Duration(s.LockoutDuration))
	tw.Flush()
}

// days is a duration flag that also takes days ("7d", "1d12h"), the unit
// realm lifetimes are usually stated in (MIT: "7d 0h 0m 0s").
type days time.Duration

// Set implements pflag.Value.
func (d *days) Set(s string) error {
	if s == "" {
		return fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	if n, after, ok := strings.Cut(s, "d"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return fmt.Errorf("%q: days must be a whole number below 65536 before the d", s)
		}
		total, rest = time.Duration(v)*24*time.Hour, after
	}
	if rest != "" {
		v, err := time.ParseDuration(rest)
		if err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		total += v
	}
	*d = days(total)
	return nil
}

// String implements pflag.Value; unset is "0", which help does not print
// as a default (the flags have none: unset keeps the realm's value).
func (d *days) String() string {
	if *d == 0 {
		return "0"
	}
	return time.Duration(*d).String()
}

// Type implements pflag.Value.
func (d *days) Type() string { return "duration" }

// reportRealmSettingConflicts is check-config's comparison of the file
// with the realm settings of the node running on it (through its admin
// socket, if one answers): keys that disagree are warnings, not errors,
// since the node starts and applies the realm's values.
func reportRealmSettingConflicts(cmd *cobra.Command, path string, cfg *node.Config) {
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	s, err := admin.NewClient(cfg.Node.AdminSocket).RealmSettings(ctx)
	if err != nil || !s.Stored {
		return // no node running here (yet), or a realm still to be seeded
	}
	for _, c := range cfg.RealmSettingConflicts(s.Settings()) {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: warning: %s; the realm's applies (kdcha realm settings set, or remove the key)\n", path, c)
	}
}
