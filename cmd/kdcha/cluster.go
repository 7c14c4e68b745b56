package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc/db"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Create and manage the node's cluster"}
	cmd.AddCommand(clusterInit())
	return cmd
}

func clusterInit() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "init --config FILE",
		Short: "Create the realm on the first node: master key, empty database, krbtgt",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			d, err := openDatabase(cfg, true)
			if err != nil {
				return err
			}
			defer d.Close()
			created := 0
			for _, req := range []db.CreateRequest{
				{Name: "krbtgt/" + cfg.Realm, RandomKey: true},
				// The agents' health probe exercises preauthentication.
				{Name: probePrincipal, RandomKey: true, Attributes: &db.Attributes{RequiresPreauth: true}},
			} {
				_, err := d.Get(req.Name)
				if err == nil {
					continue
				}
				if !errors.Is(err, db.ErrNotFound) {
					return err
				}
				if _, err := d.Create(cmd.Context(), req); err != nil {
					return fmt.Errorf("create %s: %w", req.Name, err)
				}
				created++
			}
			if created == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "realm %s already initialised in %s\n", cfg.Realm, cfg.Node.DataDir)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "realm %s created in %s\nstart the node with: kdcha agent --config %s\n", cfg.Realm, cfg.Node.DataDir, path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "/etc/kdcha/kdcha.yaml", "configuration file")
	return cmd
}
