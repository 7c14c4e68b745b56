package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/internal/readiness"
	"github.com/kdcha/kdcha/node"
)

func newAgentCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "agent --config FILE",
		Short: "Run a KDC node from its configuration file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Every check, before any port is bound: a config the agent
			// would refuse later must not crash-loop after "node ready".
			cfg, err := node.CheckConfig(path)
			if err != nil {
				return err
			}
			// Registered before the node starts: Go's default for SIGHUP
			// is to exit, and operators send it to reload (systemctl reload).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			ready := readiness.New(readiness.Options{})
			notifier, err := readiness.NewNotifier(ready, readiness.NotifierOptions{})
			if err != nil {
				return fmt.Errorf("systemd watchdog: %w", err)
			}
			track := node.TrackReadiness(ready, cfg.Mode)
			n := node.New(cfg, node.Options{
				Collectors:  []prometheus.Collector{buildInfoCollector(readBuildInfo())},
				Handlers:    map[string]http.Handler{"/healthz": ready.Healthz(), "/readyz": ready.Readyz()},
				Liveness:    ready,
				OnReloading: notifier.Reloading,
				OnReloaded:  notifier.Reloaded,
				OnPhase: func(p node.Phase) {
					track(p)
					if p == node.PhaseStopping {
						notifier.Stopping()
					}
				},
			})
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go notifier.Run(ctx)
			return node.Run(ctx, n, path, hup)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}

func newCheckConfigCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check-config --config FILE",
		Short: "Run every check the agent runs before serving, report all problems and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := node.CheckConfig(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			reportRealmSettingConflicts(cmd, path, cfg)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}
