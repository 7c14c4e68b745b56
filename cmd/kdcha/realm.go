package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRealmCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "realm",
		Short: "Realm-wide operations",
	}
	cmd.AddCommand(realmRotateMasterKey(), realmSettings())
	return cmd
}

func realmRotateMasterKey() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-master-key",
		Short: "Replace the realm master key on every node, live: re-seal every key, retire the old master key",
		Long: `Adds a new master key version (every node stores it in its stash), re-seals
every principal's keys with it, and once every cluster member has confirmed it
holds the new version, retires the old one: every node removes it from its
stash and compacts its Raft log. Principals' keys do not change (use
'principal rekey' for that). If it stops half-way (a member down, a timeout),
run it again: it resumes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := adminClient(cmd).RotateMasterKey(cmd.Context())
			if err != nil {
				return err
			}
			verb := "rotated"
			if !rep.Started {
				verb = "rotation resumed and finished"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "master key %s: version %d -> %d, %d principals re-sealed, retired %v on every node\n",
				verb, rep.From, rep.To, rep.Resealed, rep.Retired)
			return nil
		},
	}
}
