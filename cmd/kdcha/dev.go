package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/node"
)

func newDevCommand() *cobra.Command {
	var (
		o      node.DevOptions
		etypes []string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a one-node KDC for development: no root, no config file",
		Long: `Creates (or reopens) a realm under --data-dir, serves the KDC on --kdc-addr
(UDP and TCP), creates krbtgt and a user principal, writes krb5.conf into the
data dir, serves the admin API on <data-dir>/admin.sock and prints what to type
next. Runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(etypes) > 0 {
				var err error
				if o.EncTypes, err = db.ParseEncTypes(etypes); err != nil {
					return fmt.Errorf("--enctypes: %w", err)
				}
			}
			return runDev(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", "./kdcha-dev", "directory for the database, master key, krb5.conf and admin socket")
	f.StringVar(&o.Realm, "realm", "DEV.KDCHA.TEST", "realm name")
	f.StringVar(&o.KDCAddr, "kdc-addr", "127.0.0.1:8888", "KDC address, UDP and TCP (port 0 picks a free one)")
	f.StringVar(&o.User, "user", "user", "user principal to create")
	f.StringSliceVar(&etypes, "enctypes", nil, "enctypes of the keys it makes, MIT names (default aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96; e.g. aes256-cts-hmac-sha384-192,aes128-cts-hmac-sha256-128)")
	return cmd
}

func runDev(ctx context.Context, o node.DevOptions, stdout io.Writer) error {
	// What to type to run this kdcha again: under go run, no kdcha is on
	// PATH.
	self := runningCommand()
	return node.RunDev(ctx, o, func(r node.DevReady) error {
		fmt.Fprintf(stdout, `kdcha dev: realm %s, KDC on %s (udp+tcp), kpasswd on %s, data in %s

Get a ticket (MIT krb5-user tools):
  export KRB5_CONFIG=%s KRB5CCNAME=FILE:%s
  kinit %s        # password: %s
  klist -f
  kpasswd %[7]s   # change it (RFC 3244, kpasswd_server in krb5.conf)

Manage principals:
  export KDCHA_ADMIN_SOCKET=%[9]s
  %[10]s principal add HTTP/web.example.com --random-key
  %[10]s keytab export HTTP/web.example.com -o web.keytab

Ctrl-C stops the KDC; run it again to reopen the same realm.
`, o.Realm, r.KDCAddr, r.KpasswdAddr, r.DataDir, r.Krb5Conf, filepath.Join(r.DataDir, "ccache"), r.Principal, r.Password, r.AdminSocket, self)
		return nil
	})
}
