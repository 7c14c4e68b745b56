package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/node"
)

func newAgentCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "agent --config FILE",
		Short: "Run a KDC node from its configuration file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := node.LoadConfig(path)
			if err != nil {
				return err
			}
			// Registered before the node starts: Go's default for SIGHUP
			// is to exit, and operators send it to reload (systemctl reload).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			n := node.New(cfg, node.Options{Collectors: []prometheus.Collector{buildInfoCollector(readBuildInfo())}})
			return node.Run(cmd.Context(), n, path, hup)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}

func newCheckConfigCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check-config --config FILE",
		Short: "Validate a configuration file and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := node.LoadConfig(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}
