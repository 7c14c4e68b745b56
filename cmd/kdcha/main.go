// Command kdcha runs a highly available Kerberos KDC node and administers it.
//
// This package holds the cobra commands: they parse flags and call the node
// package (the agent's runtime) or the admin client. It holds no node logic
// of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kdcha:", userMessage(err))
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kdcha",
		Short:         "Highly available Kerberos KDC: embedded KDC, replicated database, VRRP",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	socket := os.Getenv("KDCHA_ADMIN_SOCKET")
	if socket == "" {
		socket = node.DefaultAdminSocket
	}
	root.PersistentFlags().String("admin-socket", socket, "admin API socket of the local node (env KDCHA_ADMIN_SOCKET)")
	root.AddCommand(newDevCommand(), newAgentCommand(), newCheckConfigCommand(), newClusterCommand(), newPrincipalCommand(), newKeytabCommand(), newProbeCommand(), newRealmCommand(), newStatusCommand(), newStatsCommand(), newBenchCommand(), newVersionCommand(), newImportCommand(), newExportCommand(), newPolicyCommand(), newDebugCommand())
	root.AddCommand(newVIPCommand())
	return root
}

// adminClient returns a client for the socket chosen by flag or env.
func adminClient(cmd *cobra.Command) *admin.Client {
	path, _ := cmd.Flags().GetString("admin-socket")
	c := admin.NewClient(path)
	c.Consistent, _ = cmd.Flags().GetBool("consistent") // read commands only (addConsistentFlag)
	c.OnStale = func(reason string) {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: answered from this node's replica without a quorum, it may be stale (%s); --consistent refuses instead\n", reason)
	}
	return c
}

// addConsistentFlag gives a read command --consistent: without a quorum
// it fails instead of answering from the node's possibly stale replica.
func addConsistentFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("consistent", false, "fail when the node has no quorum, instead of answering from its replica with a warning that it may be stale")
}

// userMessage turns an error into the line printed for a user.
func userMessage(err error) string {
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Message
	}
	return err.Error()
}
