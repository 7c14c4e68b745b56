package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc/db"
)

func newKeytabCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keytab", Short: "Keytab files"}
	var out string
	export := &cobra.Command{
		Use:   "export NAME... -o FILE",
		Short: "Write the current keys of principals to a new MIT keytab (mode 0600); keys are not changed",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("give the keytab file with -o FILE")
			}
			// Fail before asking the node for keys if the file exists.
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("keytab %s already exists; not overwriting it", out)
			}
			b, err := adminClient(cmd).Keytab(cmd.Context(), args)
			if err != nil {
				return err
			}
			if err := db.WriteSecretFile(out, b); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("keytab %s already exists; not overwriting it", out)
				}
				return fmt.Errorf("write keytab: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	export.Flags().StringVarP(&out, "output", "o", "", "keytab file to create (must not exist)")
	addConsistentFlag(export)
	cmd.AddCommand(export)
	return cmd
}
