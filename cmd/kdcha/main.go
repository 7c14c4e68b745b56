// Command kdcha runs a highly available Kerberos KDC node and administers it.
//
// This package is the composition root: it parses flags and configuration,
// wires the kdc, kdc/db and admin packages together and runs them. It holds
// no protocol logic of its own.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kdcha:", userMessage(err))
		os.Exit(1)
	}
}

// defaultAdminSocket is where a production node serves its admin API.
const defaultAdminSocket = "/run/kdcha/admin.sock"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kdcha",
		Short:         "Highly available Kerberos KDC: embedded KDC, replicated database, VRRP",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	socket := os.Getenv("KDCHA_ADMIN_SOCKET")
	if socket == "" {
		socket = defaultAdminSocket
	}
	root.PersistentFlags().String("admin-socket", socket, "admin API socket of the local node (env KDCHA_ADMIN_SOCKET)")
	root.AddCommand(newDevCommand(), newAgentCommand(), newCheckConfigCommand(), newClusterCommand(), newPrincipalCommand(), newKeytabCommand(), newProbeCommand(), newRealmCommand(), newStatusCommand(), newBenchCommand(), newVersionCommand(), newImportCommand(), newExportCommand())
	root.AddCommand(newVIPCommand())
	return root
}

// adminClient returns a client for the socket chosen by flag or env.
func adminClient(cmd *cobra.Command) *admin.Client {
	path, _ := cmd.Flags().GetString("admin-socket")
	return admin.NewClient(path)
}

// userMessage turns an error into the line printed for a user.
func userMessage(err error) string {
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Message
	}
	return err.Error()
}
