package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
)

type devOptions struct {
	dataDir string
	realm   string
	kdcAddr string
	user    string
}

func newDevCommand() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a one-node KDC for development: no root, no config file",
		Long: `Creates (or reopens) a realm under --data-dir, serves the KDC on --kdc-addr
(UDP and TCP), creates krbtgt and a user principal, writes krb5.conf into the
data dir, serves the admin API on <data-dir>/admin.sock and prints what to type
next. Runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd.Context(), o, cmd.OutOrStdout()) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "./kdcha-dev", "directory for the database, master key, krb5.conf and admin socket")
	f.StringVar(&o.realm, "realm", "DEV.KDCHA.TEST", "realm name")
	f.StringVar(&o.kdcAddr, "kdc-addr", "127.0.0.1:8888", "KDC address, UDP and TCP (port 0 picks a free one)")
	f.StringVar(&o.user, "user", "user", "user principal to create")
	return cmd
}

func runDev(ctx context.Context, o devOptions, stdout io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	dir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	database, err := db.Open(db.Options{DataDir: filepath.Join(dir, "db"), Realm: o.realm, CreateIfMissing: true, Logger: log})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer database.Close()

	password, err := ensureDevPrincipals(ctx, database, dir, o.user)
	if err != nil {
		return err
	}

	cfg := kdc.DefaultConfig()
	cfg.Listen = []string{o.kdcAddr}
	kpasswdAddr, err := devKpasswdAddr(o.kdcAddr)
	if err != nil {
		return err
	}
	cfg.KpasswdListen = []string{kpasswdAddr}
	sock := filepath.Join(dir, "admin.sock")
	krb5conf := filepath.Join(dir, "krb5.conf")
	principal := o.user + "@" + o.realm
	live := &liveStatus{}
	return nodeServices{
		log:         log,
		database:    database,
		cluster:     &member{log: log, db: database, live: live},
		kdc:         cfg,
		kpasswd:     cfg.Kpasswd(),
		adminSocket: sock,
		onReady: func(addrs, kpAddrs []string) error {
			live.kdc.Store(&addrs)
			if err := os.WriteFile(krb5conf, []byte(devKrb5Conf(o.realm, addrs[0], kpAddrs[0])), 0o644); err != nil {
				return fmt.Errorf("write krb5.conf: %w", err)
			}
			fmt.Fprintf(stdout, `kdcha dev: realm %s, KDC on %s (udp+tcp), kpasswd on %s, data in %s

Get a ticket (MIT krb5-user tools):
  export KRB5_CONFIG=%s KRB5CCNAME=FILE:%s
  kinit %s        # password: %s
  klist -f
  kpasswd %[7]s   # change it (RFC 3244, kpasswd_server in krb5.conf)

Manage principals:
  export KDCHA_ADMIN_SOCKET=%[9]s
  kdcha principal add HTTP/web.example.com --random-key
  kdcha keytab export HTTP/web.example.com -o web.keytab

Ctrl-C stops the KDC; run it again to reopen the same realm.
`, o.realm, addrs[0], kpAddrs[0], dir, krb5conf, filepath.Join(dir, "ccache"), principal, password, sock)
			return nil
		},
	}.run(ctx)
}

// ensureDevPrincipals creates krbtgt and the user on first start and returns
// the user's password, kept in a 0600 file in the data dir so a restart
// prints the same one.
func ensureDevPrincipals(ctx context.Context, d *db.DB, dir, user string) (string, error) {
	if err := createChangePW(ctx, d); err != nil {
		return "", err
	}
	tgs := "krbtgt/" + d.Realm()
	if _, err := d.Get(tgs); errors.Is(err, db.ErrNotFound) {
		if _, err := d.Create(ctx, db.CreateRequest{Name: tgs, RandomKey: true}); err != nil {
			return "", fmt.Errorf("create %s: %w", tgs, err)
		}
	} else if err != nil {
		return "", err
	}
	pwFile := filepath.Join(dir, "user.password")
	if _, err := d.Get(user); err == nil {
		b, err := os.ReadFile(pwFile)
		if errors.Is(err, fs.ErrNotExist) {
			return "(unknown: set one with kdcha principal set-password " + user + ")", nil
		}
		return strings.TrimSpace(string(b)), err
	} else if !errors.Is(err, db.ErrNotFound) {
		return "", err
	}
	pw := rand.Text()
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", pwFile, err)
	}
	if _, err := d.Create(ctx, db.CreateRequest{Name: user, Password: &pw}); err != nil {
		return "", fmt.Errorf("create %s: %w", user, err)
	}
	return pw, nil
}

// devKpasswdAddr is the dev kpasswd address: the KDC's port + 1 (a free
// port when the KDC's is 0).
func devKpasswdAddr(kdcAddr string) (string, error) {
	host, port, err := net.SplitHostPort(kdcAddr)
	if err != nil {
		return "", fmt.Errorf("--kdc-addr %q: %w", kdcAddr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65534 {
		return "", fmt.Errorf("--kdc-addr %q: bad port for a kpasswd port after it", kdcAddr)
	}
	if p > 0 {
		p++
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// devKrb5Conf is a krb5.conf pointing MIT clients at the dev KDC and its
// kpasswd service. rdns and DNS canonicalisation are off so host-based
// names are used as typed.
func devKrb5Conf(realm, kdcAddr, kpasswdAddr string) string {
	return fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    forwardable = true

[realms]
    %[1]s = {
        kdc = %[2]s
        kpasswd_server = %[3]s
    }
`, realm, kdcAddr, kpasswdAddr)
}
