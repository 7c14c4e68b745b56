package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// changePWRequest creates kadmin/changepw, the service whose tickets
// kpasswd clients present, with random keys.
var changePWRequest = db.CreateRequest{Name: db.ChangePasswordPrincipal, RandomKey: true}

// ensureChangePW creates kadmin/changepw if the realm predates kpasswd
// support. Only the leader writes; a follower checks again later, so the
// principal appears once some node leads, and a second creator loses with
// ErrExists, which is fine.
func ensureChangePW(ctx context.Context, d *db.DB, log *slog.Logger) {
	for {
		if _, err := d.Get(db.ChangePasswordPrincipal); err == nil {
			return
		}
		if d.Status().State == db.RoleLeader {
			_, err := d.Create(ctx, changePWRequest)
			if err == nil {
				log.Info("created " + db.ChangePasswordPrincipal + " for the password-change service")
			}
			if err == nil || errors.Is(err, db.ErrExists) {
				return
			}
			log.Warn("cannot create "+db.ChangePasswordPrincipal+"; kpasswd refuses requests until it exists", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// createChangePW is ensureChangePW for `kdcha dev`, which is its own leader.
func createChangePW(ctx context.Context, d *db.DB) error {
	if _, err := d.Get(db.ChangePasswordPrincipal); !errors.Is(err, db.ErrNotFound) {
		return err
	}
	if _, err := d.Create(ctx, changePWRequest); err != nil {
		return fmt.Errorf("create %s: %w", db.ChangePasswordPrincipal, err)
	}
	return nil
}
