package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/kdcha/kdcha/kdc/db"
)

// backupOnly is a Cluster for the backup endpoint alone (which needs only
// the Store).
type backupOnly struct{ Cluster }

// TestReadsWithoutQuorumAreMarkedStale: a node of a two-voter cluster
// whose peer is gone answers principal get and list, keytab export and
// backup from its replica with the stale marker (the client reports it),
// refuses them when the client demands consistency, and fails writes fast.
func TestReadsWithoutQuorumAreMarkedStale(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A member of a cluster has a network transport; an in-memory one
	// that reaches nobody stands in for it.
	_, trans := raft.NewInmemTransport("")
	d, err := db.Open(db.Options{DataDir: filepath.Join(dir, "db"), Realm: "ADMIN.TEST", CreateIfMissing: true, Logger: log, Transport: trans})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { NewServer(d, backupOnly{}, log).Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done; d.Close() })

	var reasons []string
	c := NewClient(sock)
	c.OnStale = func(reason string) { reasons = append(reasons, reason) }
	if _, err := c.Add(ctx, AddRequest{Name: "svc/a", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "svc/a"); err != nil || len(reasons) != 0 {
		t.Fatalf("read with a quorum: err %v, stale %v", err, reasons)
	}
	// The peer that never answers: the node loses its quorum.
	if err := d.AddVoter(ctx, "ghost", "ghost:1"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); d.Status().State == "Leader"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still leader without a quorum")
		}
	}

	reads := map[string]func(*Client) error{
		"principal get":  func(c *Client) error { _, err := c.Get(ctx, "svc/a"); return err },
		"principal list": func(c *Client) error { _, err := c.List(ctx); return err },
		"keytab export":  func(c *Client) error { _, err := c.Keytab(ctx, []string{"svc/a"}); return err },
		"cluster backup": func(c *Client) error { _, err := c.Backup(ctx); return err },
	}
	for name, read := range reads {
		reasons = nil
		if err := read(c); err != nil {
			t.Errorf("%s without quorum: %v", name, err)
		}
		if len(reasons) != 1 || !strings.Contains(reasons[0], "no raft quorum") {
			t.Errorf("%s without quorum: stale reasons %q, want one naming the quorum", name, reasons)
		}
		c.Consistent = true
		if err := read(c); apiStatus(err) != http.StatusServiceUnavailable {
			t.Errorf("consistent %s without quorum: %v, want 503", name, err)
		}
		c.Consistent = false
	}

	start := time.Now()
	if _, err := c.Rekey(ctx, "svc/a"); apiStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("write without quorum: %v, want 503", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("write without quorum took %s", took)
	}
}
