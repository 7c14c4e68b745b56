package db

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logRecorder keeps a node's log as JSON lines.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

// mark is the current end of the log, for records(mark).
func (r *logRecorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Len()
}

// records returns the records written after mark.
func (r *logRecorder) records(t testing.TB, mark int) []map[string]any {
	t.Helper()
	r.mu.Lock()
	text := r.buf.String()[mark:]
	r.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// recordedCluster is a test cluster over raft's network transport whose
// nodes log everything (debug included) to a recorder each.
func recordedCluster(t *testing.T) (*testCluster, func(id string) *logRecorder) {
	var mu sync.Mutex
	logs := map[string]*logRecorder{}
	logOf := func(id string) *logRecorder {
		mu.Lock()
		defer mu.Unlock()
		if logs[id] == nil {
			logs[id] = &logRecorder{}
		}
		return logs[id]
	}
	c := newTestCluster(t)
	c.tcp = true
	c.logger = func(id string) *slog.Logger {
		return slog.New(slog.NewJSONHandler(logOf(id), &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", id)
	}
	return c, logOf
}

// TestPlannedStopWarnsOncePerPeer stops one node of three (the leader, or
// a follower) and checks that each remaining node logs at most one line at
// WARN or above, naming the stopped peer, although raft keeps failing to
// reach it (those repeats are at debug); and that its return is logged once
// at INFO. Raft's transport logs through the same handler.
func TestPlannedStopWarnsOncePerPeer(t *testing.T) {
	t.Parallel()
	for _, victim := range []string{"leader", "follower"} {
		t.Run(victim, func(t *testing.T) {
			t.Parallel()
			c, logOf := recordedCluster(t)
			startClusterOf(c, 3, nil)
			// Followers accept the leader's connections.
			for _, n := range c.followers() {
				if !hasRecord(logOf(n.id).records(t, 0), func(r map[string]any) bool {
					return r["component"] == "raft" && r["subsystem"] == "net" && r["msg"] == "accepted connection"
				}) {
					t.Errorf("%s: no log record from raft's network transport", n.id)
				}
			}
			stopped := c.leader()
			if victim == "follower" {
				stopped = c.followers()[0]
			}
			marks := map[string]int{}
			for _, n := range c.all() {
				marks[n.id] = logOf(n.id).mark()
			}
			c.stop(stopped.id)
			leader := c.leader()
			// The new steady state: the leader has failed to reach the
			// stopped node several times since.
			failures := func(r map[string]any) bool {
				_, repeat := peerFailures[r["msg"].(string)]
				return repeat && r["level"] == "DEBUG"
			}
			c.eventually("repeated failures to reach the stopped node", func() bool {
				return countRecords(logOf(leader.id).records(t, marks[leader.id]), failures) >= 3
			})
			for id, mark := range marks {
				if id == stopped.id {
					continue
				}
				var warns []map[string]any
				for _, r := range logOf(id).records(t, mark) {
					if r["level"] == "WARN" || r["level"] == "ERROR" {
						warns = append(warns, r)
					}
				}
				if len(warns) > 1 || len(warns) == 1 && warns[0]["peer"] != stopped.id {
					t.Errorf("%s logged %d lines at WARN or above after %s stopped, want at most one naming it: %v", id, len(warns), stopped.id, warns)
				}
				if id == leader.id && len(warns) != 1 {
					t.Errorf("the leader %s did not warn once about %s: %v", id, stopped.id, warns)
				}
			}

			mark := logOf(leader.id).mark()
			c.open(stopped.id, false, nil)
			c.eventually("the leader logs the stopped node's return", func() bool {
				return hasRecord(logOf(leader.id).records(t, mark), func(r map[string]any) bool {
					return r["level"] == "INFO" && r["msg"] == "raft peer reachable again" && r["peer"] == stopped.id
				})
			})
		})
	}
}

// TestSingleNodeStartWarnsNothing: the first lines of `kdcha dev` (a
// single node bootstrapping and electing itself) hold no warning.
func TestSingleNodeStartWarnsNothing(t *testing.T) {
	t.Parallel()
	var rec logRecorder
	o := testOptions(t.TempDir())
	o.Logger = slog.New(slog.NewJSONHandler(&rec, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	records := rec.records(t, 0)
	if !hasRecord(records, func(r map[string]any) bool { return r["msg"] == "heartbeat timeout reached, starting election" }) {
		t.Fatal("raft's election was not logged at all: the test no longer sees what it checks")
	}
	for _, r := range records {
		if r["level"] != "DEBUG" && r["level"] != "INFO" {
			t.Errorf("single-node start logged %v", r)
		}
	}
}

func hasRecord(rs []map[string]any, match func(map[string]any) bool) bool {
	return countRecords(rs, match) > 0
}

func countRecords(rs []map[string]any, match func(map[string]any) bool) int {
	n := 0
	for _, r := range rs {
		if match(r) {
			n++
		}
	}
	return n
}
