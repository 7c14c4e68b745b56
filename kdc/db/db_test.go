package db

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := openTestDB(t, dir)
	if d.Realm() != testRealm {
		t.Fatalf("realm %q", d.Realm())
	}
	for name, want := range map[string]os.FileMode{
		".":                  0o700,
		DefaultMasterKeyFile: 0o600,
		metaFile:             0o600,
	} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", name, st.Mode().Perm(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, raftDBFile)); err != nil {
		t.Errorf("raft log store: %v", err)
	}
	if s := d.Status(); s.State != "Leader" || s.Principals != 0 {
		t.Fatalf("status %+v", s)
	}
}

func TestAdminOperations(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)

	p, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("correct horse battery"), MaxLife: 10 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != alice || p.KVNO() != 1 || len(p.Keys) != 2 || !p.Attributes.RequiresPreauth || p.MaxLife != 10*time.Hour {
		t.Fatalf("created %+v", p)
	}
	if k, ok := p.KeyFor(18); !ok || k.Salt != testRealm+"alice" || len(k.Value) != 32 {
		t.Fatalf("aes256 key %+v %v", k, ok)
	}
	if got, ok := d.Lookup(alice); !ok || got != p {
		t.Fatal("Lookup does not return the created principal")
	}

	svc, err := d.Create(ctx, CreateRequest{Name: zk, RandomKey: true, Aliases: []string{"zookeeper/10.0.0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Attributes.RequiresPreauth {
		t.Fatal("random-key principal requires preauth by default")
	}
	if got, err := d.Get("zookeeper/10.0.0.5"); err != nil || got.Name != zk {
		t.Fatalf("Get by alias: %v, %v", got, err)
	}

	m, err := d.Modify(ctx, "alice", Modification{
		Attributes: &Attributes{RequiresPreauth: true, DisallowForwardable: true},
		MaxLife:    ptr(time.Hour),
		IfRevision: p.Revision,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Attributes.DisallowForwardable || m.MaxLife != time.Hour || m.KVNO() != 1 || m.Revision <= p.Revision {
		t.Fatalf("modified %+v", m)
	}
	if _, err := d.Modify(ctx, "alice", Modification{MaxLife: ptr(2 * time.Hour), IfRevision: p.Revision}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale IfRevision: %v", err)
	}

	sp, err := d.SetPassword(ctx, "alice", "another good passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ak, _ := sp.KeyFor(18)
	pk, _ := p.KeyFor(18)
	if sp.KVNO() != 2 || string(ak.Value) == string(pk.Value) || !sp.Attributes.DisallowForwardable {
		t.Fatalf("after set-password: kvno %d, attributes %+v", sp.KVNO(), sp.Attributes)
	}

	rk, err := d.Rekey(ctx, zk)
	if err != nil {
		t.Fatal(err)
	}
	if rk.KVNO() != 2 || !slices.Equal(rk.Aliases, []string{zkIP}) {
		t.Fatalf("after rekey: %+v", rk)
	}

	locked, err := d.SetLocked(ctx, "alice", true)
	if err != nil || !locked.Locked {
		t.Fatalf("lock: %+v %v", locked, err)
	}

	list := d.List()
	if len(list) != 2 || list[0].Name != alice || list[1].Name != zk {
		t.Fatalf("List = %v", names(list))
	}

	if err := d.Delete(ctx, "zookeeper/10.0.0.5", false); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("delete through alias: %v", err)
	}
	if err := d.Delete(ctx, zk, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Lookup(zkIP); ok {
		t.Fatal("alias of deleted principal still resolves")
	}
	if _, err := d.Get(zk); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("Get of deleted principal: %v", err)
	}
	again, err := d.Create(ctx, CreateRequest{Name: zk, RandomKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.KVNO() != 3 {
		t.Fatalf("re-created principal has kvno %d, want 3", again.KVNO())
	}
}

func TestAdminBadInputChangesNothing(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("correct horse battery")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, CreateRequest{Name: zk, RandomKey: true, Aliases: []string{zkIP}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   func() error
		err  error
		msg  string
	}{
		{"create existing", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "alice", RandomKey: true})
			return err
		}, ErrExists, alice},
		{"create over alias", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: zkIP, RandomKey: true})
			return err
		}, ErrExists, "alias"},
		{"create in other realm", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob@OTHER.ORG", RandomKey: true})
			return err
		}, ErrInvalidName, "OTHER.ORG"},
		{"create bad name", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob//x", RandomKey: true})
			return err
		}, ErrInvalidName, "bob//x"},
		{"create weak password", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob", Password: ptr("bob12345")})
			return err
		}, ErrWeakPassword, "principal name"},
		{"create empty password", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob", Password: ptr("")})
			return err
		}, ErrWeakPassword, "empty"},
		{"create without key source", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob"})
			return err
		}, ErrInvalid, "neither"},
		{"create with both key sources", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob", RandomKey: true, Password: ptr("long enough pw")})
			return err
		}, ErrInvalid, "both"},
		{"create negative life", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob", RandomKey: true, MaxLife: -time.Hour})
			return err
		}, ErrInvalid, "negative"},
		{"create alias in other realm", func() error {
			_, err := d.Create(ctx, CreateRequest{Name: "bob", RandomKey: true, Aliases: []string{"bob@OTHER.ORG"}})
			return err
		}, ErrInvalidName, "alias"},
		{"set-password unknown", func() error {
			_, err := d.SetPassword(ctx, "alicee", "correct horse battery")
			return err
		}, ErrNotFound, "did you mean " + alice},
		{"set-password weak", func() error {
			_, err := d.SetPassword(ctx, "alice", "Alice2026")
			return err
		}, ErrWeakPassword, "principal name"},
		{"rekey unknown", func() error {
			_, err := d.Rekey(ctx, "zookeeper/10.0.0.6")
			return err
		}, ErrNotFound, "zookeeper/"},
		{"modify nothing", func() error {
			_, err := d.Modify(ctx, "alice", Modification{})
			return err
		}, ErrInvalid, "nothing"},
		{"modify steals alias", func() error {
			_, err := d.Modify(ctx, "alice", Modification{Aliases: &[]string{zkIP}})
			return err
		}, ErrExists, zk},
		{"delete unknown", func() error { return d.Delete(ctx, "nobody", false) }, ErrNotFound, "nobody"},
		{"lock unknown", func() error {
			_, err := d.SetLocked(ctx, "nobody", true)
			return err
		}, ErrNotFound, "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := d.fsm.revision()
			err := tt.op()
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.err, tt.msg)
			}
			if d.fsm.revision() != before {
				t.Fatal("a rejected operation changed the database")
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	d, err := Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("correct horse battery")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, CreateRequest{Name: zk, RandomKey: true, Aliases: []string{zkIP}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Rekey(ctx, zk); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, CreateRequest{Name: "gone", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Rekey(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "gone", false); err != nil {
		t.Fatal(err)
	}
	wantAlice, _ := d.Lookup(alice)
	wantRev := d.Status().Revision
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Once replaying the log, once from a snapshot plus log.
	for _, snapshot := range []bool{false, true} {
		d2 := openTestDB(t, dir)
		got, ok := d2.Lookup(alice)
		if !ok || got.KVNO() != 1 || string(got.Keys[0].Value) != string(wantAlice.Keys[0].Value) || got.Revision != wantAlice.Revision {
			t.Fatalf("snapshot=%v: alice after reopen: %+v", snapshot, got)
		}
		if p, ok := d2.Lookup(zkIP); !ok || p.Name != zk || p.KVNO() != 2 {
			t.Fatalf("snapshot=%v: zk alias after reopen: %+v", snapshot, p)
		}
		if s := d2.Status(); s.Revision != wantRev || s.Principals != 2 {
			t.Fatalf("snapshot=%v: status after reopen %+v, want revision %d", snapshot, s, wantRev)
		}
		if snapshot {
			p, err := d2.Create(ctx, CreateRequest{Name: "gone", RandomKey: true})
			if err != nil || p.KVNO() != 3 {
				t.Fatalf("re-create after reopen: kvno %v, %v; want 3", p, err)
			}
		}
		if !snapshot {
			if err := d2.node.r.Snapshot().Error(); err != nil {
				t.Fatal(err)
			}
		}
		if err := d2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	base := t.TempDir()
	existing := filepath.Join(base, "existing")
	d := openTestDB(t, existing)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(base, "other.key")
	if _, err := CreateMasterKey(otherKey); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(base, "loose.key")
	if _, err := CreateMasterKey(loose); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*Options)
		err    error
		msg    string
	}{
		{"wrong realm", func(o *Options) { o.DataDir = existing; o.Realm = "OTHER.ORG" }, ErrRealmMismatch, "EXAMPLE.COM"},
		{"wrong master key", func(o *Options) { o.DataDir = existing; o.MasterKeyPath = otherKey }, ErrWrongMasterKey, "master key"},
		{"readable stash", func(o *Options) { o.DataDir = existing; o.MasterKeyPath = loose }, ErrMasterKey, "chmod 600"},
		{"missing stash", func(o *Options) {
			o.DataDir = existing
			o.MasterKeyPath = filepath.Join(base, "none.key")
			o.CreateIfMissing = false
		}, fs.ErrNotExist, "none.key"},
		{"lost stash of an existing dir", func(o *Options) {
			o.DataDir = existing
			o.MasterKeyPath = filepath.Join(base, "lost.key")
		}, fs.ErrNotExist, "lost.key"},
		{"uninitialised dir", func(o *Options) {
			o.DataDir = filepath.Join(base, "typo")
			o.MasterKeyPath = filepath.Join(existing, DefaultMasterKeyFile)
			o.CreateIfMissing = false
		}, fs.ErrNotExist, "no principal database"},
		{"other node ID", func(o *Options) { o.DataDir = existing; o.NodeID = "renamed-host" }, ErrInvalid, "test-node"},
		{"3DES", func(o *Options) { o.DataDir = filepath.Join(base, "x"); o.EncTypes = []int32{16} }, ErrUnsupportedEncType, "16"},
		{"bad realm", func(o *Options) { o.DataDir = filepath.Join(base, "x"); o.Realm = "A B" }, ErrInvalidName, "A B"},
		{"no data dir", func(o *Options) { o.DataDir = "" }, ErrInvalid, "DataDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions("")
			tt.modify(&o)
			d, err := Open(o)
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.err, tt.msg)
			}
			t.Logf("%v", err)
		})
	}
	if _, err := os.Stat(filepath.Join(base, "lost.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a new stash was created for an existing database: %v", err)
	}
	// Nothing above damaged the database, and an empty NodeID means the
	// recorded one.
	o := testOptions(existing)
	o.NodeID = ""
	d, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if s := d.Status(); s.State != "Leader" || s.LeaderID != "test-node" {
		t.Fatalf("status %+v", s)
	}
}

func TestOpenTwiceFails(t *testing.T) {
	dir := t.TempDir()
	openTestDB(t, dir)
	o := testOptions(dir)
	d, err := Open(o)
	if err == nil {
		d.Close()
		t.Fatal("second Open of the same dir succeeded")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want 'in use'", err)
	}
}

func TestCorruptSnapshotIsReported(t *testing.T) {
	tests := []struct {
		name string
		// corrupt rewrites state.bin; fixCRC makes raft's own check pass so
		// that the FSM's decoder sees the bytes.
		corrupt func([]byte) []byte
		fixCRC  bool
		want    string
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }, false, "snapshots in"},
		{"not json", func([]byte) []byte { return []byte("garbage") }, true, "restore snapshot: decode"},
		{"future format", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"format":1`), []byte(`"format":7`), 1)
		}, true, "format 7 not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d := openTestDB(t, dir)
			if _, err := d.Create(testCtx(t), CreateRequest{Name: "alice", RandomKey: true}); err != nil {
				t.Fatal(err)
			}
			if err := d.node.r.Snapshot().Error(); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			states, err := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
			if err != nil || len(states) != 1 {
				t.Fatalf("snapshots: %v %v", states, err)
			}
			b, err := os.ReadFile(states[0])
			if err != nil {
				t.Fatal(err)
			}
			b = tt.corrupt(b)
			if err := os.WriteFile(states[0], b, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.fixCRC {
				rewriteSnapshotMeta(t, filepath.Join(filepath.Dir(states[0]), "meta.json"), b)
			}
			d2, err := Open(testOptions(dir))
			if err == nil {
				d2.Close()
				t.Fatal("Open with a corrupt snapshot succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			t.Logf("%v", err)
		})
	}
}

// rewriteSnapshotMeta updates the size and CRC that hashicorp/raft stores
// next to a snapshot's state.bin.
func rewriteSnapshotMeta(t *testing.T, path string, state []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	h.Write(state)
	meta["Size"] = len(state)
	meta["CRC"] = h.Sum(nil)
	if b, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentReadersWhileWriting(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	const users = 10
	for i := 0; i < users; i++ {
		if _, err := d.Create(ctx, CreateRequest{Name: fmt.Sprintf("user%d", i), RandomKey: true}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := map[string]uint32{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < users; i++ {
					name := fmt.Sprintf("user%d@%s", i, testRealm)
					p, ok := d.Lookup(name)
					if !ok {
						t.Errorf("%s vanished", name)
						return
					}
					// A reader never sees a kvno go backwards or a
					// principal whose keys disagree on the kvno.
					for _, k := range p.Keys {
						if k.KVNO != p.KVNO() {
							t.Errorf("%s: mixed kvnos", name)
						}
					}
					if p.KVNO() < last[name] {
						t.Errorf("%s: kvno went back %d -> %d", name, last[name], p.KVNO())
					}
					last[name] = p.KVNO()
				}
				d.Similar("user@"+testRealm, 3)
				d.List()
			}
		}()
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < users; i++ {
			if _, err := d.Rekey(ctx, fmt.Sprintf("user%d", i)); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if p, _ := d.Lookup("user0@" + testRealm); p.KVNO() != 4 {
		t.Fatalf("kvno %d after 3 rekeys, want 4", p.KVNO())
	}
}

func TestConcurrentWritersSerialise(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "svc/a", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const n = 8
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Rekey(ctx, "svc/a"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p, _ := d.Get("svc/a"); p.KVNO() != n+1 {
		t.Fatalf("kvno %d after %d concurrent rekeys, want %d", p.KVNO(), n, n+1)
	}
}

func TestApplyHonoursContext(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", RandomKey: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with a cancelled context: %v", err)
	}
	if _, err := d.Get("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancelled Create left a principal: %v", err)
	}
}

func TestWritesFailFastWithoutLeader(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	if err := d.node.r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := d.Create(testCtx(t), CreateRequest{Name: "alice", RandomKey: true})
	if !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("err = %v, want ErrNoQuorum", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("failing took %s", time.Since(start))
	}
}

// TestLostQuorum adds an unreachable second voter: the node loses
// leadership, writes fail fast with ErrNoQuorum, reads keep working, and a
// restart opens the database read-only instead of hanging.
func TestLostQuorum(t *testing.T) {
	dir := t.TempDir()
	// A member of a (two-voter) cluster has a network transport; an
	// in-memory one that nothing connects to stands in for it.
	openMember := func(dir string) *DB {
		t.Helper()
		o := testOptions(dir)
		_, o.Transport = raft.NewInmemTransport("")
		d, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := openMember(dir)
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	r := d.node.r
	// Never commits (the ghost never acks); it ends when leadership is lost.
	r.AddVoter("ghost", "127.0.0.1:1", 0, time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for d.Status().State == "Leader" {
		if time.Now().After(deadline) {
			t.Fatal("still leader without a quorum")
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkNoQuorum := func(d *DB) {
		t.Helper()
		start := time.Now()
		if _, err := d.Rekey(ctx, "alice"); !errors.Is(err, ErrNoQuorum) && !errors.Is(err, ErrNotLeader) {
			t.Fatalf("write without quorum: %v", err)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Fatalf("write without quorum took %s to fail", took)
		}
		if p, ok := d.Lookup(alice); !ok || p.KVNO() != 1 {
			t.Fatalf("read without quorum: %+v %v", p, ok)
		}
	}
	checkNoQuorum(d)

	// A crash: copy the directory of the running node once the applied
	// index has been recorded in the background.
	crashed := filepath.Join(t.TempDir(), "crashed")
	n := d.node
	for deadline := time.Now().Add(3 * appliedSaveInterval); ; time.Sleep(50 * time.Millisecond) {
		if saved, _ := n.store.GetUint64(appliedKey); saved >= d.fsm.appliedIndex() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("applied index never recorded")
		}
	}
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(crashed, DefaultMasterKeyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, restarted := range []string{dir, crashed} {
		d2 := openMember(restarted)
		if s := d2.Status(); s.State == "Leader" {
			t.Fatalf("became leader of a two-voter cluster alone: %+v", s)
		}
		checkNoQuorum(d2)
		d2.Close()
	}
}

func names(ps []*Principal) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// TestNoPlaintextAtRest checks the data directory and the logs (at debug
// level, including Raft's) for the password and the keys, raw, hex and
// base64.
func TestNoPlaintextAtRest(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	o := testOptions(dir)
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	const password = "a very secret passphrase"
	p, err := d.Create(testCtx(t), CreateRequest{Name: "alice", Password: ptr(password)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(testCtx(t), CreateRequest{Name: "alice", Password: ptr(password)}); !errors.Is(err, ErrExists) {
		t.Fatal(err)
	}
	if err := d.node.r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{[]byte(password)}
	for _, k := range p.Keys {
		secrets = append(secrets, k.Value, []byte(hex.EncodeToString(k.Value)), []byte(base64.StdEncoding.EncodeToString(k.Value)))
	}
	if !strings.Contains(logs.String(), "principal changed") || !strings.Contains(logs.String(), "component=raft") {
		t.Fatalf("logs were not captured:\n%s", logs.String())
	}
	blobs := map[string][]byte{"logs": logs.Bytes()}
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		blobs[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) < 5 { // logs, master.key, meta, raft.db, snapshot files
		t.Fatalf("only found %d files to inspect", len(blobs))
	}
	for name, b := range blobs {
		for _, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s contains a secret", name)
			}
		}
	}
}
