package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kdcha/kdcha/kdc/db"
)

// startAPI serves the API for a single-node database in a temp dir.
func startAPI(t *testing.T) (*Client, string) {
	t.Helper()
	return startAPILogging(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startAPILogging is startAPI with the server's (and database's) logger.
func startAPILogging(t *testing.T, log *slog.Logger) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(db.Options{DataDir: filepath.Join(dir, "db"), Realm: "ADMIN.TEST", CreateIfMissing: true, Logger: log})
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
	go func() { NewServer(d, nil, log).Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done; d.Close() })
	return NewClient(sock), sock
}

func TestAPIRoundTrip(t *testing.T) {
	c, sock := startAPI(t)
	ctx := context.Background()
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v (%v), want 0600", fi.Mode(), err)
	}
	pw := "correct-horse-9"
	p, err := c.Add(ctx, AddRequest{Name: "alice", Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "alice@ADMIN.TEST" || p.KVNO != 1 || !p.Attributes.RequiresPreauth || len(p.EncTypes) != 2 {
		t.Fatalf("added %+v", p)
	}
	if _, err := c.Add(ctx, AddRequest{Name: "alice", RandomKey: true}); apiStatus(err) != http.StatusConflict {
		t.Fatalf("duplicate add: %v", err)
	}
	if _, err := c.Get(ctx, "bob"); apiStatus(err) != http.StatusNotFound {
		t.Fatalf("get unknown: %v", err)
	}
	f := false
	p, err = c.Modify(ctx, "alice", ModifyRequest{RequiresPreauth: &f})
	if err != nil || p.Attributes.RequiresPreauth {
		t.Fatalf("modify: %+v %v", p, err)
	}
	p, err = c.Rekey(ctx, "alice")
	if err != nil || p.KVNO != 2 {
		t.Fatalf("rekey: %+v %v", p, err)
	}
	kt, err := c.Keytab(ctx, []string{"alice"})
	if err != nil || len(kt) < 10 || kt[0] != 5 || kt[1] != 2 {
		t.Fatalf("keytab: %d bytes, %v", len(kt), err)
	}
	if _, err := c.Keytab(ctx, nil); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("empty keytab request: %v", err)
	}
	if err := c.Delete(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if ps, err := c.List(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("list after delete: %v %v", ps, err)
	}
}

func apiStatus(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestListenUnix(t *testing.T) {
	_, live := startAPI(t)
	if _, err := ListenUnix(live); err == nil {
		t.Fatal("took over a socket another server answers on")
	}
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := ListenUnix(stale)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := ListenUnix(file); err == nil {
		t.Fatal("replaced a regular file")
	}
}

func TestAPIRotateMasterKey(t *testing.T) {
	c, _ := startAPI(t)
	ctx := context.Background()
	pw := "correct-horse-9"
	if _, err := c.Add(ctx, AddRequest{Name: "alice", Password: &pw}); err != nil {
		t.Fatal(err)
	}
	rep, err := c.RotateMasterKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.From != 1 || rep.To != 2 || !rep.Started || rep.Resealed != 1 || len(rep.Retired) != 1 || rep.Retired[0] != 1 {
		t.Fatalf("rotation %+v, want 1 -> 2 with alice re-sealed and 1 retired", rep)
	}
	if p, err := c.Get(ctx, "alice"); err != nil || p.KVNO != 1 {
		t.Fatalf("alice after the rotation: %+v, %v (keys must not change)", p, err)
	}
}

// TestAPIDiskFull: a write that failed for lack of space reaches the CLI as
// such (507 and the database's message), not as an internal error.
func TestAPIDiskFull(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, fmt.Errorf("create a@R: writes are unavailable: the last write failed: raft: write raft.db: %w", syscall.ENOSPC))
	if rec.Code != http.StatusInsufficientStorage || !strings.Contains(rec.Body.String(), "no space left on device") {
		t.Fatalf("full disk answered %d %s", rec.Code, rec.Body)
	}
}
