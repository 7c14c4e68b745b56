package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

func newAgentCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "agent --config FILE",
		Short: "Run a KDC node from its configuration file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), cfg)
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
			if _, err := loadConfig(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}

func runAgent(ctx context.Context, cfg *agentConfig) error {
	level, _ := parseLogLevel(cfg.Node.LogLevel)
	log := newLogger(level)
	m, err := openMember(cfg, log, memberOpen, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	go m.credentialsWorker(ctx)
	go func() {
		m.ensureMembership(ctx)
		m.untilDone(ctx, "cluster CA key not moved into the database yet", m.moveCAKey)
	}()
	go ensureChangePW(ctx, m.db, log)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.collectors()...)
	return nodeServices{
		log:         log,
		database:    m.db,
		cluster:     m,
		kdc:         cfg.KDC,
		kpasswd:     cfg.KDC.Kpasswd(),
		adminSocket: cfg.Node.AdminSocket,
		metrics:     cfg.Metrics.Listen,
		registry:    reg,
		also: func(ctx context.Context, kdcAddrs []string) error {
			m.live.kdc.Store(&kdcAddrs)
			return haServices{cfg: cfg, log: log, reg: reg, database: m.db, kdcAddr: localKDCAddr(kdcAddrs), live: m.live}.run(ctx)
		},
	}.run(ctx)
}
