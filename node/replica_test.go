package node

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestReplicaProbe: a leader's replica is current; a node that has joined
// but hears no leader is reported, with the reason, so its VRRP priority
// drops below nodes that do.
func TestReplicaProbe(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	leaderDir := filepath.Join(t.TempDir(), "db")
	leader, err := db.Open(db.Options{DataDir: leaderDir, Realm: "R.TEST", NodeID: "a", CreateIfMissing: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	if r := (replicaProbe{db: leader, maxSilence: time.Second}).Run(context.Background()); r.Err != nil {
		t.Fatalf("leader: %v", r.Err)
	}

	dir := t.TempDir()
	// A joining node brings the realm's master key.
	key, err := os.ReadFile(filepath.Join(leaderDir, db.DefaultMasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.WriteSecretFile(filepath.Join(dir, db.DefaultMasterKeyFile), key); err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport("")
	lonely, err := db.Open(db.Options{DataDir: dir, Realm: "R.TEST", NodeID: "b", CreateIfMissing: true, Join: true, Transport: trans, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer lonely.Close()
	r := (replicaProbe{db: lonely, maxSilence: time.Second}).Run(context.Background())
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no raft leader known") {
		t.Fatalf("joined node without a leader: %v", r.Err)
	}
}
