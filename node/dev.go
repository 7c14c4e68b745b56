package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
)

// DevOptions configure a development node (`kdcha dev`).
type DevOptions struct {
	// DataDir holds the database, krb5.conf, the user's password and the
	// admin socket.
	DataDir string
	// Realm is the realm created on first start.
	Realm string
	// KDCAddr is the KDC's address (UDP and TCP); port 0 picks a free one.
	// kpasswd listens on the next port.
	KDCAddr string
	// User is the user principal created on first start.
	User string
	// EncTypes are the enctypes of the keys the node makes (krbtgt and the
	// user on first start, every principal added later); nil: the
	// database default (db.DefaultEncTypes).
	EncTypes []int32
	// Logger defaults to text on stderr at info.
	Logger *slog.Logger
}

// DevReady is what a development node tells its caller once it serves.
type DevReady struct {
	// DataDir is the absolute data directory.
	DataDir string
	// KDCAddr and KpasswdAddr are the bound addresses.
	KDCAddr, KpasswdAddr string
	// Krb5Conf is the krb5.conf written for MIT clients.
	Krb5Conf string
	// AdminSocket is the admin API's socket.
	AdminSocket string
	// Principal is the user's principal name with realm; Password its
	// password (or a hint when it is not known any more).
	Principal, Password string
}

// RunDev runs a one-node realm under o.DataDir, creating it on first start
// (krbtgt, kadmin/changepw, the user with a random password), and calls
// ready once every socket is bound. It serves until ctx is cancelled.
func RunDev(ctx context.Context, o DevOptions, ready func(DevReady) error) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	database, err := db.Open(db.Options{DataDir: filepath.Join(dir, "db"), Realm: o.Realm, CreateIfMissing: true, EncTypes: o.EncTypes, Logger: log})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer database.Close()

	password, err := ensureDevPrincipals(ctx, database, dir, o.User)
	if err != nil {
		return err
	}

	cfg := kdc.DefaultConfig()
	cfg.Listen = []string{o.KDCAddr}
	kpasswdAddr, err := devKpasswdAddr(o.KDCAddr)
	if err != nil {
		return err
	}
	cfg.KpasswdListen = []string{kpasswdAddr}
	sock := filepath.Join(dir, "admin.sock")
	krb5conf := filepath.Join(dir, "krb5.conf")
	live := &liveStatus{}
	return nodeServices{
		log:         log,
		database:    database,
		cluster:     &Member{log: log, db: database, live: live},
		kdc:         cfg,
		kpasswd:     cfg.Kpasswd(),
		adminSocket: sock,
		onReady: func(addrs, kpAddrs []string) error {
			live.setKDC(addrs)
			if err := os.WriteFile(krb5conf, []byte(DevKrb5Conf(o.Realm, addrs[0], kpAddrs[0])), 0o644); err != nil {
				return fmt.Errorf("write krb5.conf: %w", err)
			}
			return ready(DevReady{
				DataDir: dir, KDCAddr: addrs[0], KpasswdAddr: kpAddrs[0], Krb5Conf: krb5conf, AdminSocket: sock,
				Principal: o.User + "@" + o.Realm, Password: password,
			})
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

// DevKrb5Conf is a krb5.conf pointing MIT clients at the dev KDC and its
// kpasswd service. rdns and DNS canonicalisation are off so host-based
// names are used as typed.
func DevKrb5Conf(realm, kdcAddr, kpasswdAddr string) string {
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
