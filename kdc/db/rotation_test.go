package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

const rotationPassword = "correct horse battery"

// ownStashes gives every node of c its own copy of the realm's stash, as
// real nodes have: a rotation rewrites each node's stash.
func ownStashes(c *testCluster) func(*Options) {
	return func(o *Options) {
		o.MasterKeyPath = o.DataDir + ".master.key"
		if _, err := os.Stat(o.MasterKeyPath); err == nil {
			return
		}
		b, err := os.ReadFile(c.stash)
		if err == nil {
			err = WriteSecretFile(o.MasterKeyPath, b)
		}
		if err != nil {
			c.t.Fatal(err)
		}
	}
}

// rotationFixture creates a password principal, a service rekeyed once (so
// it has previous keys) and a few more, and returns every principal's key
// material by name.
func rotationFixture(t *testing.T, d *DB) map[string][]Key {
	t.Helper()
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr(rotationPassword)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"HTTP/www.example.com", "host/a.example.com", "host/b.example.com"} {
		if _, err := d.Create(ctx, CreateRequest{Name: n, RandomKey: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Rekey(ctx, "HTTP/www.example.com"); err != nil {
		t.Fatal(err)
	}
	return keyMaterial(t, d)
}

func keyMaterial(t *testing.T, d *DB) map[string][]Key {
	t.Helper()
	out := map[string][]Key{}
	for _, p := range d.List() {
		out[p.Name] = slices.Concat(p.Keys, p.PreviousKeys)
	}
	return out
}

// checkRotated checks that node d holds only master key version v, in its
// stash, its replicated state and every sealed key, that principals' keys
// are keys (unchanged), and that alice's password still gives her keys (a
// kinit with it would work).
func checkRotated(t *testing.T, id string, d *DB, stash string, v uint32, keys map[string][]Key) {
	t.Helper()
	waitStash(t, d, v)
	mk, err := LoadMasterKey(stash)
	if err != nil {
		t.Fatalf("%s: load stash: %v", id, err)
	}
	if got := mk.versions(); !slices.Equal(got, []uint32{v}) {
		t.Fatalf("%s: stash holds versions %v, want only %d", id, got, v)
	}
	if k := d.fsm.masterKeyState(); k.Current != v || !slices.Equal(k.Active, []uint32{v}) || len(k.Chain) != 0 {
		t.Fatalf("%s: master key state %+v, want only version %d", id, k, v)
	}
	if stale := d.fsm.staleRecords(v, 1); len(stale) != 0 {
		t.Fatalf("%s: %s still has a key sealed with another version", id, stale[0].Name)
	}
	if got := keyMaterial(t, d); !keysEqual(got, keys) {
		t.Fatalf("%s: principals' keys changed by the rotation", id)
	}
	alice, ok := d.Lookup("alice@" + testRealm)
	if !ok {
		t.Fatalf("%s: alice missing", id)
	}
	derived, err := passwordKeys(rotationPassword, []string{"alice"}, testRealm, DefaultEncTypes)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range derived {
		if !bytes.Equal(alice.Keys[i].Value, k.value) {
			t.Fatalf("%s: alice's password no longer gives her enctype %d key", id, k.etype)
		}
	}
}

// waitOnly waits until every running node of c has applied the retirement
// of all versions but v (waitConverged may return while a follower's FSM
// still applies the last entry).
func waitOnly(c *testCluster, v uint32) {
	c.t.Helper()
	for _, n := range c.all() {
		c.eventually(n.id+" applied the retirement", func() bool {
			return slices.Equal(n.db.fsm.masterKeyState().Active, []uint32{v})
		})
	}
}

// waitStash waits (bounded) until d's keyring holds only version v: the key
// worker drops a retired version once the log is compacted.
func waitStash(t *testing.T, d *DB, v uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(d.mk.versions(), []uint32{v}) {
		if time.Now().After(deadline) {
			t.Fatalf("the keyring still holds %v, want only %d", d.mk.versions(), v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func keysEqual(a, b map[string][]Key) bool {
	if len(a) != len(b) {
		return false
	}
	for n, ka := range a {
		if !slices.EqualFunc(ka, b[n], func(x, y Key) bool {
			return x.EType == y.EType && x.KVNO == y.KVNO && x.Salt == y.Salt && bytes.Equal(x.Value, y.Value)
		}) {
			return false
		}
	}
	return true
}

// sealedWithOnDisk reports whether node d's Raft log or snapshots still
// hold anything sealed with master key version v.
func sealedWithOnDisk(t *testing.T, d *DB, v uint32) string {
	t.Helper()
	first, _ := d.node.store.FirstIndex()
	last, _ := d.node.store.LastIndex()
	for i := first; i <= last && first > 0; i++ {
		var l raft.Log
		if err := d.node.store.GetLog(i, &l); err != nil || l.Type != raft.LogCommand {
			continue
		}
		c, err := decodeCommand(l.Data)
		if err != nil {
			t.Fatal(err)
		}
		sealed := slices.Concat(c.Keys)
		if c.MasterKey != nil {
			if s, _ := sealedVersion(c.MasterKey.Sealed); s == v {
				return "log entry " + string(c.Op)
			}
			for _, r := range c.MasterKey.Records {
				sealed = slices.Concat(sealed, r.Keys, r.PrevKeys)
			}
		}
		for _, k := range sealed {
			if s, _ := sealedVersion(k.Sealed); s == v {
				return "log entry " + string(c.Op) + " " + c.Name
			}
		}
	}
	metas, err := d.node.snaps.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		_, rc, err := d.node.snaps.Open(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var data snapshotData
		err = json.NewDecoder(rc).Decode(&data)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if k := data.MasterKeys; k == nil || slices.Contains(k.Active, v) || len(k.Chain) > 0 {
			return "snapshot " + m.ID + " from before the retirement"
		}
		if s, _ := sealedVersion(data.KeyCheck); s == v {
			return "snapshot " + m.ID + " key check"
		}
		for _, rec := range data.Principals {
			for _, k := range slices.Concat(rec.Keys, rec.PrevKeys) {
				if s, _ := sealedVersion(k.Sealed); s == v {
					return "snapshot " + m.ID + " keys of " + rec.Name
				}
			}
		}
	}
	return ""
}

func TestRotateMasterKeyCluster(t *testing.T) {
	c := newTestCluster(t)
	tune := ownStashes(c)
	startClusterOf(c, 3, tune)
	ctx := testCtx(t)
	keys := rotationFixture(t, c.leader().db)
	oldStash, err := os.ReadFile(c.node("n1").dir + ".master.key")
	if err != nil {
		t.Fatal(err)
	}

	// The cluster CA key is sealed with the master key too: it must be
	// re-sealed, or retiring version 1 would make joins impossible.
	caDER := []byte("cluster CA key (opaque DER)")
	if err := c.leader().db.SetClusterCAKey(ctx, caDER); err != nil {
		t.Fatal(err)
	}

	// Driven by a follower: every step goes through the leader.
	driver := c.followers()[0]
	rep, err := driver.db.RotateMasterKey(ctx)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if rep.From != 1 || rep.To != 2 || !rep.Started || rep.Resealed != len(keys) || !slices.Equal(rep.Retired, []uint32{1}) {
		t.Fatalf("report %+v, want 1 -> 2, started, %d re-sealed, 1 retired", rep, len(keys))
	}
	waitOnly(c, 2)
	for _, n := range c.all() {
		checkRotated(t, n.id, n.db, n.dir+".master.key", 2, keys)
		if got, err := n.db.ClusterCAKey(); err != nil || !bytes.Equal(got, caDER) {
			t.Fatalf("%s: cluster CA key after rotation: %q, %v", n.id, got, err)
		}
		c.eventually(n.id+" compacted its log and snapshots", func() bool { return sealedWithOnDisk(t, n.db, 1) == "" })
		if b, _ := os.ReadFile(n.dir + ".master.key"); bytes.Contains(b, oldStash[len(stashMagic)+1:]) {
			t.Fatalf("%s: the old key material is still in the stash", n.id)
		}
	}

	// Writes after the rotation use the new version, and nodes restart with
	// only the new stash (the data dir's key check was re-sealed). Only the
	// followers restart, so that no election races the writes.
	c.waitConverged()
	if _, err := driver.db.Create(ctx, CreateRequest{Name: "bob", Password: ptr(rotationPassword + "!")}); err != nil {
		t.Fatal(err)
	}
	for _, f := range c.followers() {
		c.stop(f.id)
		c.open(f.id, false, tune)
	}
	c.waitConverged()
	waitOnly(c, 2)
	keys = keyMaterial(t, c.leader().db)
	for _, n := range c.all() {
		if err := n.db.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		checkRotated(t, n.id, n.db, n.dir+".master.key", 2, keys)
	}

	// A second rotation goes on to version 3.
	if rep, err := c.leader().db.RotateMasterKey(ctx); err != nil || rep.To != 3 || !slices.Equal(rep.Retired, []uint32{2}) {
		t.Fatalf("second rotation: %+v, %v", rep, err)
	}
}

func TestRotateMasterKeyFollowerDown(t *testing.T) {
	c := newTestCluster(t)
	tune := ownStashes(c)
	startClusterOf(c, 3, tune)
	ctx := testCtx(t)
	rotationFixture(t, c.leader().db)
	down := c.followers()[0]
	c.stop(down.id)

	// Everything but the retirement happens; the error names the node
	// (after waiting for it as long as the caller's deadline allows).
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rep, err := c.leader().db.RotateMasterKey(short)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), down.id) {
		t.Fatalf("rotate with %s down: %v, want ErrConflict naming it", down.id, err)
	}
	if !rep.Started || len(rep.Retired) != 0 {
		t.Fatalf("report %+v, want started and nothing retired", rep)
	}
	if k := c.leader().db.fsm.masterKeyState(); !slices.Equal(k.Active, []uint32{1, 2}) {
		t.Fatalf("active versions %v, want [1 2]", k.Active)
	}
	// A write meanwhile is sealed with the new version.
	if _, err := c.leader().db.Create(ctx, CreateRequest{Name: "late", RandomKey: true}); err != nil {
		t.Fatal(err)
	}

	// The node comes back with the old stash only, learns version 2 from
	// the log, confirms it, and the same verb finishes the rotation.
	c.open(down.id, false, tune)
	c.waitConverged()
	rep, err = c.leader().db.RotateMasterKey(ctx)
	if err != nil || rep.Started || !slices.Equal(rep.Retired, []uint32{1}) {
		t.Fatalf("resumed rotation: %+v, %v", rep, err)
	}
	waitOnly(c, 2)
	keys := keyMaterial(t, c.leader().db)
	for _, n := range c.all() {
		checkRotated(t, n.id, n.db, n.dir+".master.key", 2, keys)
	}
}

func TestRetireRefusedWhileInUse(t *testing.T) {
	dir := t.TempDir()
	d := openTestDB(t, dir)
	ctx := testCtx(t)
	keys := rotationFixture(t, d)
	if _, err := d.addMasterKey(ctx, 2); err != nil {
		t.Fatal(err)
	}
	retire := func() error { return d.proposeKeyChange(ctx, opMasterKeyRetire, &masterKeyChange{MKVNO: 1}) }
	if err := retire(); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "still seals keys of") {
		t.Fatalf("retire with nothing re-sealed: %v, want ErrConflict", err)
	}

	// Re-seal everything, then rekey one principal with keys sealed with
	// version 2 but its previous keys left on version 1: still refused.
	if _, err := d.resealAll(ctx, 2); err != nil {
		t.Fatal(err)
	}
	rec := d.fsm.st.records["alice@"+testRealm]
	old, err := sealKeysWith(t, d, 1, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.proposeKeyChange(ctx, opReseal, &masterKeyChange{MKVNO: 2, Records: []resealed{old}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reseal with keys of version 1 while 2 is current: %v, want ErrInvalid", err)
	}
	d.fsm.mu.Lock()
	prevOld := *d.fsm.st.records["alice@"+testRealm]
	prevOld.PrevKeys = old.Keys
	prevOld.PrevKVNO = prevOld.KVNO
	d.fsm.st.records[prevOld.Name] = &prevOld
	d.fsm.mu.Unlock()
	if err := retire(); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("retire with previous keys on version 1: %v, want ErrConflict naming alice", err)
	}
	if v := d.mk.versions(); !slices.Equal(v, []uint32{1, 2}) {
		t.Fatalf("a refused retirement changed the keyring: %v", v)
	}

	// The rotation verb re-seals what is left and retires.
	d.fsm.mu.Lock()
	d.fsm.st.records[prevOld.Name] = rec
	d.fsm.mu.Unlock()
	rep, err := d.RotateMasterKey(ctx)
	if err != nil || rep.Started || !slices.Equal(rep.Retired, []uint32{1}) {
		t.Fatalf("rotate: %+v, %v", rep, err)
	}
	checkRotated(t, "single", d, dir+"/"+DefaultMasterKeyFile, 2, keys)

	// A proposer that still seals with the retired version is refused.
	stale, err := sealKeysWith(t, d, 1, d.fsm.st.records["alice@"+testRealm])
	if err != nil {
		t.Fatal(err)
	}
	d.writeMu.Lock()
	_, err = d.propose(ctx, &command{Op: opSetKeys, Name: "alice@" + testRealm, KVNO: rec.KVNO + 1, Keys: stale.Keys})
	d.writeMu.Unlock()
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("keys sealed with a retired version: %v, want ErrConflict", err)
	}
}

// sealKeysWith re-seals rec's current keys with a keyring holding only
// version v of d's keys (which must still hold it, or have held it: the
// test keeps a copy).
func sealKeysWith(t *testing.T, d *DB, v uint32, rec *record) (resealed, error) {
	t.Helper()
	k, ok := oldVersions[d]
	if !ok {
		d.mk.mu.RLock()
		k = map[uint32]masterKeyVersion{}
		for ver, mv := range d.mk.keys {
			k[ver] = mv
		}
		d.mk.mu.RUnlock()
		oldVersions[d] = k
	}
	r := resealed{Name: rec.Name, Revision: rec.Revision}
	for _, sk := range rec.Keys {
		pt, err := d.mk.open(rec.Name, sk.EType, rec.KVNO, sk.Sealed)
		if err != nil {
			return r, err
		}
		s, err := sealWith(v, k[v].aead, rec.Name, sk.EType, rec.KVNO, pt)
		if err != nil {
			return r, err
		}
		r.Keys = append(r.Keys, sealedKey{EType: sk.EType, Salt: sk.Salt, Sealed: s})
	}
	return r, nil
}

// oldVersions keeps the keyrings sealKeysWith saw, so it can still seal
// with a version after the DB retired it.
var oldVersions = map[*DB]map[uint32]masterKeyVersion{}

func TestRotateMasterKeyResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	keys := rotationFixture(t, d)
	// Crash after the new version and one re-sealed record.
	if _, err := d.addMasterKey(ctx, 2); err != nil {
		t.Fatal(err)
	}
	r, err := d.resealRecord(d.fsm.staleRecords(2, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := d.proposeKeyChange(ctx, opReseal, &masterKeyChange{MKVNO: 2, Records: []resealed{r}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openTestDB(t, dir)
	if v := d.mk.versions(); !slices.Equal(v, []uint32{1, 2}) {
		t.Fatalf("stash after restart holds %v, want [1 2]", v)
	}
	rep, err := d.RotateMasterKey(ctx)
	if err != nil || rep.Started || rep.Resealed != len(keys)-1 || !slices.Equal(rep.Retired, []uint32{1}) {
		t.Fatalf("resumed rotation: %+v, %v; want not started, %d re-sealed, 1 retired", rep, err, len(keys)-1)
	}
	checkRotated(t, "single", d, dir+"/"+DefaultMasterKeyFile, 2, keys)
}

// TestNodeBackAfterRetirement covers a node that comes back after a
// rotation finished with only the old stash: with its current data dir it
// refuses to open, and with its whole old state (a VM snapshot, say) it
// cannot install the cluster's snapshot; both errors say what to do.
func TestNodeBackAfterRetirement(t *testing.T) {
	c := newTestCluster(t)
	tune := ownStashes(c)
	startClusterOf(c, 3, tune)
	ctx := testCtx(t)
	rotationFixture(t, c.leader().db)
	old := c.followers()[0]
	c.stop(old.id)
	saved := t.TempDir() + "/saved"
	if err := os.CopyFS(saved, os.DirFS(old.dir)); err != nil {
		t.Fatal(err)
	}
	oldStash, err := os.ReadFile(old.dir + ".master.key")
	if err != nil {
		t.Fatal(err)
	}
	c.open(old.id, false, tune)
	if _, err := c.leader().db.RotateMasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	waitOnly(c, 2)
	// The leader compacted its log: a node from before the rotation can
	// only catch up from a snapshot.
	leader := c.leader()
	c.eventually("leader compacted", func() bool { return sealedWithOnDisk(t, leader.db, 1) == "" })
	c.stop(old.id)

	if err := os.Remove(old.dir + ".master.key"); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecretFile(old.dir+".master.key", oldStash); err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport(old.addr)
	_, err = Open(c.options(old.id, old.dir, trans, false, tune))
	t.Logf("open says: %v", err)
	if !errors.Is(err, ErrWrongMasterKey) || !strings.Contains(err.Error(), "copy the current stash") {
		t.Fatalf("open with the stash from before the rotation: %v, want ErrWrongMasterKey saying what to do", err)
	}

	if err := os.RemoveAll(old.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(old.dir, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
	n := c.open(old.id, false, tune)
	c.eventually(old.id+" reports the retired master key", func() bool {
		err := n.db.fsm.restoreError()
		return errors.Is(err, ErrWrongMasterKey) && strings.Contains(err.Error(), "copy the stash file from a current member")
	})
	t.Logf("the node says: %v", n.db.fsm.restoreError())
	if _, ok := n.db.Lookup("alice@" + testRealm); !ok {
		t.Fatal("the node stopped serving its replica")
	}
}

func TestRotationLimits(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.addMasterKey(ctx, 2); err != nil {
		t.Fatal(err)
	}
	batch := make([]resealed, maxResealBatch+1)
	err := d.proposeKeyChange(ctx, opReseal, &masterKeyChange{MKVNO: 2, Records: batch})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("reseal of %d records: %v, want ErrInvalid", len(batch), err)
	}
	// A second rotation cannot start before the first one finished.
	if err := d.proposeKeyChange(ctx, opMasterKeyAdd, &masterKeyChange{MKVNO: 3}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second add during a rotation: %v, want ErrConflict", err)
	}
	keys := map[uint32][]byte{}
	for v := range uint32(maxStashKeys + 1) {
		keys[v+1] = bytes.Repeat([]byte{byte(v)}, masterKeyBytes)
	}
	if _, err := parseStash(encodeStash(keys)); err == nil {
		t.Fatalf("a stash of %d versions parsed", len(keys))
	}
}

// TestBackupCarriesMasterKeyVersion: a backup taken after a rotation
// restores with the rotated stash; one taken before it names the version it
// needs and is refused by the rotated stash alone.
func TestBackupCarriesMasterKeyVersion(t *testing.T) {
	srcDir := t.TempDir()
	src := openTestDB(t, srcDir)
	// A backup without the realm's krbtgt is refused.
	if _, err := src.Create(testCtx(t), CreateRequest{Name: RealmTGS(testRealm), RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	keys := rotationFixture(t, src)
	var before, after bytes.Buffer
	if err := src.Backup(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := src.RotateMasterKey(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitStash(t, src, 2)
	if err := src.Backup(&after); err != nil {
		t.Fatal(err)
	}
	restore := func(backup []byte) (*DB, error) {
		opts := testOptions(t.TempDir())
		opts.MasterKeyPath = filepath.Join(srcDir, DefaultMasterKeyFile)
		opts.RestoreFrom = bytes.NewReader(backup)
		return Open(opts)
	}
	_, err := restore(before.Bytes())
	if !errors.Is(err, ErrWrongMasterKey) || !strings.Contains(err.Error(), "master key version 1") {
		t.Fatalf("restore of a pre-rotation backup with the rotated stash: %v, want ErrWrongMasterKey naming version 1", err)
	}
	dst, err := restore(after.Bytes())
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	defer dst.Close()
	if k := dst.fsm.masterKeyState(); k.Current != 2 {
		t.Fatalf("restored master key state %+v, want version 2", k)
	}
	if !keysEqual(keyMaterial(t, dst), keys) {
		t.Fatal("restored keys differ")
	}
}

// TestRetireKeepsKeyUntilCompacted: applying a retirement does not touch
// the stash; the old version stays until the key worker has a snapshot of
// the state after it (a restart before that must still read the older
// snapshot and log). A replica that applied the same entries is in the same
// state, including one restored from a snapshot taken mid-rotation.
func TestRetireKeepsKeyUntilCompacted(t *testing.T) {
	stash := filepath.Join(t.TempDir(), "master.key")
	mk, err := CreateMasterKey(stash)
	if err != nil {
		t.Fatal(err)
	}
	v1 := mk.keys[1]
	h := newHarness(t, mk)
	h.mustApply(h.create(alice, 1))
	key := bytes.Repeat([]byte{9}, masterKeyBytes)
	sealed, err := mk.seal(masterKeyOwner, 0, 2, key)
	if err != nil {
		t.Fatal(err)
	}
	h.mustApply(&command{Op: opMasterKeyAdd, MasterKey: &masterKeyChange{MKVNO: 2, Sealed: sealed}})
	midRotation := h.snapshot()
	d := &DB{mk: mk, fsm: h.f}
	r, err := d.resealRecord(h.f.staleRecords(2, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	h.mustApply(&command{Op: opReseal, MasterKey: &masterKeyChange{MKVNO: 2, Records: []resealed{r}}})
	h.mustApply(&command{Op: opMasterKeyRetire, MasterKey: &masterKeyChange{MKVNO: 1}})
	if got := mk.versions(); !slices.Equal(got, []uint32{1, 2}) || !h.f.keyWork.compact.Load() {
		t.Fatalf("after applying the retirement the keyring holds %v (compaction asked: %v), want [1 2] until compacted",
			got, h.f.keyWork.compact.Load())
	}
	onDisk, err := LoadMasterKey(stash)
	if err != nil || !slices.Equal(onDisk.versions(), []uint32{1, 2}) {
		t.Fatalf("stash after the new version: %v, %v; want [1 2] written durably", onDisk, err)
	}
	h.f.dropMasterKeys()
	if onDisk, err = LoadMasterKey(stash); err != nil || !slices.Equal(onDisk.versions(), []uint32{2}) {
		t.Fatalf("stash after the drop: %v, %v; want [2]", onDisk, err)
	}

	// A node with only version 1 that installs the mid-rotation snapshot
	// learns version 2 from its chain.
	other, err := CreateMasterKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	other.keys[1] = v1
	h2 := newHarness(t, other)
	if err := h2.f.Restore(io.NopCloser(bytes.NewReader(midRotation))); err != nil {
		t.Fatal(err)
	}
	if got := other.versions(); !slices.Equal(got, []uint32{1, 2}) || other.currentVersion() != 2 {
		t.Fatalf("after installing the snapshot the keyring holds %v (current %d), want [1 2] sealing with 2", got, other.currentVersion())
	}
}
