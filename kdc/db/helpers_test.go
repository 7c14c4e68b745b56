package db

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const testRealm = "EXAMPLE.COM"

// testLogger discards logs unless KDCHA_TEST_LOG is set, so a failing
// test can be rerun with Raft's output visible.
func testLogger() *slog.Logger {
	if os.Getenv("KDCHA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testMasterKey creates a stash in a temp dir.
func testMasterKey(t testing.TB) *MasterKey {
	t.Helper()
	mk, err := CreateMasterKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

// testOptions are Options for a fresh single node in dir, with a short
// Raft heartbeat so that each Open takes tens of milliseconds, not seconds.
func testOptions(dir string) Options {
	return Options{
		DataDir:         dir,
		Realm:           testRealm,
		CreateIfMissing: true,
		NodeID:          "test-node",
		Logger:          testLogger(),
		raftHeartbeat:   50 * time.Millisecond,
	}
}

// openTestDB opens a DB in dir and closes it when the test ends.
func openTestDB(t testing.TB, dir string) *DB {
	t.Helper()
	d, err := Open(testOptions(dir))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ptr[T any](v T) *T { return &v }
