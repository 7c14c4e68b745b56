package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc/db"
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

// openDatabase opens the node's database as the config describes.
func openDatabase(cfg *agentConfig, create bool) (*db.DB, error) {
	level, _ := parseLogLevel(cfg.Node.LogLevel)
	etypes, _ := parseEncTypes(cfg.Database.EncTypes)
	d, err := db.Open(db.Options{
		DataDir:         filepath.Join(cfg.Node.DataDir, "db"),
		Realm:           cfg.Realm,
		MasterKeyPath:   cfg.Database.MasterKeyFile,
		CreateIfMissing: create,
		NodeID:          cfg.Node.Name,
		EncTypes:        etypes,
		Logger:          newLogger(level),
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return d, nil
}

func runAgent(ctx context.Context, cfg *agentConfig) error {
	level, _ := parseLogLevel(cfg.Node.LogLevel)
	log := newLogger(level)
	d, err := openDatabase(cfg, false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no principal database under %s: run `kdcha cluster init --config FILE` first", cfg.Node.DataDir)
	}
	if err != nil {
		return err
	}
	defer d.Close()
	reg := prometheus.NewRegistry()
	return nodeServices{
		log:         log,
		database:    d,
		kdc:         cfg.KDC,
		adminSocket: cfg.Node.AdminSocket,
		metrics:     cfg.Metrics.Listen,
		registry:    reg,
		also: func(ctx context.Context, kdcAddrs []string) error {
			return haServices{cfg: cfg, log: log, reg: reg, database: d, kdcAddr: localKDCAddr(kdcAddrs)}.run(ctx)
		},
	}.run(ctx)
}
