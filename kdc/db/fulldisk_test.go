package db

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFullDisk fills a small tmpfs (root only) and checks that a write
// that cannot be stored fails with an error, that reads keep working, and
// that no accepted write is lost on reopen.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })

	d, err := Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	var created []string
	var werr error
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("svc/host%d.example.com", i)
		if _, werr = d.Create(ctx, CreateRequest{Name: name, RandomKey: true}); werr != nil {
			break
		}
		created = append(created, name)
	}
	t.Logf("created %d principals, then: %v", len(created), werr)
	if werr == nil {
		t.Fatal("1 MiB of disk held 5000 principals; the test did not fill it")
	}
	if _, ok := d.Lookup("svc/host0.example.com@" + testRealm); !ok {
		t.Fatal("reads stopped working after the disk filled")
	}
	t.Logf("raft state after the failure: %s", d.Status().State)
	// The failed write lost the node its leadership, and it cannot win an
	// election on a full disk: the writes after it must still blame the
	// disk, not the quorum.
	_, again := d.Create(ctx, CreateRequest{Name: "again", RandomKey: true})
	for i, err := range []error{werr, again} {
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") ||
			strings.Contains(err.Error(), "quorum") || errors.Is(err, ErrNotLeader) {
			t.Fatalf("write %d on a full disk: %v, want 'no space left on device' (not quorum or leadership)", i+1, err)
		}
	}

	// Once space is freed, the single node leads again and writes resume.
	if out, err := exec.Command("mount", "-o", "remount,size=8m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := d.Create(ctx, CreateRequest{Name: "after.full", RandomKey: true})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes did not resume after freeing space: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	created = append(created, "after.full")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openTestDB(t, dir)
	for _, name := range created {
		if _, err := d.Get(name); err != nil {
			t.Fatalf("acknowledged write lost: %v", err)
		}
	}
	if got, want := len(d.List()), len(created); got > want+1 {
		t.Fatalf("%d principals after reopen, %d acknowledged", got, want)
	}
}
