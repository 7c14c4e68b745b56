package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/node"
	"github.com/kdcha/kdcha/vrrp/vip"
)

func newVIPCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vip",
		Short: "Act on this node's virtual IP addresses",
	}
	cmd.AddCommand(newVIPReleaseCommand())
	return cmd
}

// newVIPReleaseCommand is the clean-up systemd runs as ExecStopPost=, also
// after the agent was SIGKILLed or crashed: a dead agent's VIP must not
// stay on the interface until a restart, answering for no one.
func newVIPReleaseCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "release --config FILE",
		Short: "Remove this node's VIPs from their interfaces (for ExecStopPost; the agent must not be running)",
		Long: "Removes every VIP of the configured VRRP instances from its interface, and only those\n" +
			"addresses (never the interface's own). Idempotent: a VIP already gone is nothing to do.\n" +
			"Run it when the agent is not running (systemd's ExecStopPost=), never next to a live agent,\n" +
			"which would put the VIP back or lose it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := node.LoadConfig(path)
			if err != nil {
				return err
			}
			return releaseVIPs(cfg, node.NewLogger(slog.LevelInfo))
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}

// releaseVIPs removes every instance's VIPs, going on past an instance
// that fails so one bad interface does not leave the others' VIPs behind.
func releaseVIPs(cfg *node.Config, log *slog.Logger) error {
	var errs []error
	total := 0
	for _, in := range cfg.VRRP.Instances {
		vips, err := in.VIPs()
		if err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", in.Name, err))
			continue
		}
		removed, err := vip.Release(in.Interface, vips)
		for _, p := range removed {
			log.Info("VIP released", "instance", in.Name, "interface", in.Interface, "vip", p)
		}
		total += len(removed)
		if err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", in.Name, err))
		}
	}
	if total == 0 {
		log.Info("no VIP to release", "instances", len(cfg.VRRP.Instances))
	}
	return errors.Join(errs...)
}
