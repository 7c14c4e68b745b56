package main

import (
	"fmt"

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
			return node.RunAgent(cmd.Context(), cfg, node.Options{Collectors: []prometheus.Collector{buildInfoCollector(readBuildInfo())}})
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
