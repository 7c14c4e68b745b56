package db

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fsmHarness drives an fsm directly with encoded commands, as Raft would.
type fsmHarness struct {
	t     testing.TB
	mk    *MasterKey
	f     *fsm
	index uint64
}

func newHarness(t testing.TB, mk *MasterKey) *fsmHarness {
	return &fsmHarness{t: t, mk: mk, f: newFSM(testRealm, mk, newIndex(testRealm), testLogger())}
}

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// encode stamps and encodes c; the time is fixed so runs are comparable.
func (h *fsmHarness) encode(c *command) []byte {
	h.t.Helper()
	if c.Time.IsZero() {
		c.Time = t0
	}
	b, err := encodeCommand(c)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *fsmHarness) applyBytes(b []byte) *applyResult {
	h.index++
	res, ok := h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: b}).(*applyResult)
	if !ok {
		h.t.Fatal("Apply did not return *applyResult")
	}
	return res
}

func (h *fsmHarness) apply(c *command) *applyResult { return h.applyBytes(h.encode(c)) }

// mustApply applies c and fails the test if it is rejected.
func (h *fsmHarness) mustApply(c *command) *Principal {
	h.t.Helper()
	res := h.apply(c)
	if res.Err != nil {
		h.t.Fatalf("%s %s: %v", c.Op, c.Name, res.Err)
	}
	return res.Principal
}

// keys returns random keys for name sealed for kvno.
func (h *fsmHarness) keys(name string, kvno uint32) []sealedKey {
	h.t.Helper()
	comps, realm, err := ParseName(name, testRealm)
	if err != nil {
		h.t.Fatal(err)
	}
	pk, err := randomKeys(comps, realm, DefaultEncTypes)
	if err != nil {
		h.t.Fatal(err)
	}
	sk, err := sealKeys(h.mk, name, kvno, pk)
	if err != nil {
		h.t.Fatal(err)
	}
	return sk
}

func (h *fsmHarness) create(name string, kvno uint32, aliases ...string) *command {
	return &command{Op: opCreate, Name: name, KVNO: kvno, Keys: h.keys(name, kvno), Aliases: &aliases}
}

func (h *fsmHarness) setKeys(name string, kvno uint32) *command {
	return &command{Op: opSetKeys, Name: name, KVNO: kvno, Keys: h.keys(name, kvno)}
}

// snapshot returns the bytes a snapshot of the current state persists.
func (h *fsmHarness) snapshot() []byte {
	h.t.Helper()
	s, err := h.f.Snapshot()
	if err != nil {
		h.t.Fatal(err)
	}
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		h.t.Fatal(err)
	}
	return sink.Bytes()
}

// state is the snapshot without the applied index, which every entry,
// even a rejected one, advances, and without the master key check, which
// each node seals with its own nonce: what "nothing changed" and "same
// state on every node" compare.
func (h *fsmHarness) state() string {
	h.t.Helper()
	var data snapshotData
	if err := json.Unmarshal(h.snapshot(), &data); err != nil {
		h.t.Fatal(err)
	}
	data.AppliedIndex = 0
	data.KeyCheck = nil
	b, err := json.Marshal(&data)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

const (
	alice = "alice@" + testRealm
	zk    = "zookeeper/zk1.example.com@" + testRealm
	zkIP  = "zookeeper/10.0.0.5@" + testRealm
)

func TestFSMDeterministic(t *testing.T) {
	mk := testMasterKey(t)
	a, b := newHarness(t, mk), newHarness(t, mk)
	// The same log (including rejected entries) must give the same state
	// on every node.
	log := [][]byte{
		a.encode(a.create(alice, 1)),
		a.encode(a.create(zk, 1, zkIP)),
		a.encode(a.create(alice, 1)), // rejected: exists
		a.encode(a.setKeys(alice, 2)),
		a.encode(&command{Op: opModify, Name: zk, MaxLife: ptr(time.Hour), Time: t0.Add(time.Minute)}),
		a.encode(&command{Op: opSetLock, Name: alice, Locked: ptr(true)}),
		a.encode(&command{Op: opDelete, Name: zk}),
		a.encode(a.create(zkIP, 2)),
	}
	for _, e := range log {
		ra, rb := a.applyBytes(e), b.applyBytes(e)
		if (ra.Err == nil) != (rb.Err == nil) {
			t.Fatalf("results differ: %v vs %v", ra.Err, rb.Err)
		}
	}
	sa, sb := a.state(), b.state()
	if sa != sb {
		t.Fatalf("states differ:\n%s\n%s", sa, sb)
	}
	if a.f.revision() != 7 {
		t.Fatalf("revision %d after 7 successful commands", a.f.revision())
	}
}

func TestFSMKVNONeverGoesBackwards(t *testing.T) {
	h := newHarness(t, testMasterKey(t))
	if p := h.mustApply(h.create(alice, 1)); p.KVNO() != 1 {
		t.Fatalf("new principal kvno %d", p.KVNO())
	}
	h.mustApply(h.setKeys(alice, 2))
	h.mustApply(h.setKeys(alice, 3))
	h.mustApply(&command{Op: opDelete, Name: alice})
	if _, ok := h.f.index.Lookup(alice); ok {
		t.Fatal("deleted principal still in the index")
	}
	if ts, ok := h.f.tombstoneOf(alice); !ok || ts.KVNO != 3 {
		t.Fatalf("tombstone %+v, %v; want kvno 3", ts, ok)
	}
	steps := []struct {
		name string
		cmd  *command
		err  error
		kvno uint32
	}{
		{"re-create at kvno 1", h.create(alice, 1), ErrConflict, 0},
		{"re-create at kvno 3", h.create(alice, 3), ErrConflict, 0},
		{"re-create at kvno 4", h.create(alice, 4), nil, 4},
		{"set keys reusing kvno", h.setKeys(alice, 4), ErrConflict, 0},
		{"set keys skipping a kvno", h.setKeys(alice, 6), ErrConflict, 0},
		{"set keys at next kvno", h.setKeys(alice, 5), nil, 5},
		{"set keys of unknown", h.setKeys("bob@"+testRealm, 1), ErrNotFound, 0},
	}
	for _, s := range steps {
		res := h.apply(s.cmd)
		if !errors.Is(res.Err, s.err) || (s.err == nil && res.Err != nil) {
			t.Fatalf("%s: err %v, want %v", s.name, res.Err, s.err)
		}
		if s.err == nil && res.Principal.KVNO() != s.kvno {
			t.Fatalf("%s: kvno %d, want %d", s.name, res.Principal.KVNO(), s.kvno)
		}
	}
	if kvno, exists := h.f.keyPlan(alice, nil); !exists || kvno != 6 {
		t.Fatalf("next kvno %d (exists %v), want 6", kvno, exists)
	}
}

func TestFSMRevisionMonotonic(t *testing.T) {
	h := newHarness(t, testMasterKey(t))
	var last uint64
	cmds := []*command{
		h.create(alice, 1),
		h.create(alice, 1), // rejected
		h.setKeys(alice, 2),
		{Op: opModify, Name: alice, Attributes: &Attributes{Disabled: true}},
		{Op: opDelete, Name: alice},
		h.create(alice, 3),
	}
	for i, c := range cmds {
		res := h.apply(c)
		rev := h.f.revision()
		switch {
		case res.Err != nil && rev != last:
			t.Fatalf("command %d rejected (%v) but revision moved %d -> %d", i, res.Err, last, rev)
		case res.Err == nil && rev != last+1:
			t.Fatalf("command %d: revision %d -> %d, want +1", i, last, rev)
		case res.Principal != nil && res.Principal.Revision != rev:
			t.Fatalf("command %d: principal revision %d, global %d", i, res.Principal.Revision, rev)
		}
		last = rev
	}
}

func TestFSMAliases(t *testing.T) {
	h := newHarness(t, testMasterKey(t))
	h.mustApply(h.create(zk, 1, zkIP))
	h.mustApply(h.create(alice, 1))
	other := "zookeeper/zk2.example.com@" + testRealm
	tests := []struct {
		name string
		cmd  *command
		err  error
	}{
		{"name taken by alias", h.create(zkIP, 1), ErrExists},
		{"alias taken by alias", h.create(other, 1, zkIP), ErrExists},
		{"alias taken by name", h.create(other, 1, alice), ErrExists},
		{"alias equals name", h.create(other, 1, other), ErrInvalid},
		{"alias twice", h.create(other, 1, "x@"+testRealm, "x@"+testRealm), ErrInvalid},
		{"alias in other realm", h.create(other, 1, "x@OTHER.ORG"), ErrInvalidName},
		{"alias not canonical", h.create(other, 1, "x"), ErrInvalidName},
		{"modify takes alias of another", &command{Op: opModify, Name: alice, Aliases: &[]string{zkIP}}, ErrExists},
		{"modify through alias", &command{Op: opModify, Name: zkIP, MaxLife: ptr(time.Hour)}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.state()
			if res := h.apply(tt.cmd); !errors.Is(res.Err, tt.err) {
				t.Fatalf("err %v, want %v", res.Err, tt.err)
			}
			if before != h.state() {
				t.Fatal("rejected command changed the state")
			}
		})
	}
	if p, ok := h.f.index.Lookup(zkIP); !ok || p.Name != zk {
		t.Fatalf("alias lookup: %v %v", p, ok)
	}
	// Moving the alias: drop it from zk, then it can be given to alice, and
	// the index follows.
	h.mustApply(&command{Op: opModify, Name: zk, Aliases: &[]string{}})
	if _, ok := h.f.index.Lookup(zkIP); ok {
		t.Fatal("dropped alias still resolves")
	}
	if ts, ok := h.f.tombstoneOf(zkIP); !ok || ts.KVNO != 1 {
		t.Fatalf("dropped alias tombstone %+v %v", ts, ok)
	}
	p := h.mustApply(&command{Op: opModify, Name: alice, Aliases: &[]string{zkIP}})
	if got, _ := h.f.index.Lookup(zkIP); got != p || !slices.Equal(p.Aliases, []string{zkIP}) {
		t.Fatalf("moved alias resolves to %v", got)
	}
}

func TestFSMRejectsBadCommands(t *testing.T) {
	h := newHarness(t, testMasterKey(t))
	h.mustApply(h.create(alice, 1))
	wrongOwner := h.create("bob@"+testRealm, 1)
	wrongOwner.Keys = h.keys(alice, 1) // sealed for someone else
	des := h.create("carol@"+testRealm, 1)
	des.Keys[0].EType = 3
	tests := []struct {
		name string
		data []byte
		err  error
	}{
		{"not json", []byte("{"), nil},
		{"future version", []byte(`{"v":2,"op":"create","name":"x@EXAMPLE.COM"}`), nil},
		{"unknown op", h.encode(&command{Op: "explode", Name: alice}), ErrInvalid},
		{"keys sealed for another principal", h.encode(wrongOwner), ErrWrongMasterKey},
		{"DES key", h.encode(des), ErrUnsupportedEncType},
		{"no keys", h.encode(&command{Op: opCreate, Name: "dave@" + testRealm, KVNO: 1}), ErrInvalid},
		{"name in other realm", h.encode(h.create("eve@OTHER.ORG", 1)), ErrInvalidName},
		{"negative max life", h.encode(&command{Op: opModify, Name: alice, MaxLife: ptr(-time.Second)}), ErrInvalid},
		{"stale revision", h.encode(&command{Op: opModify, Name: alice, IfRevision: 99, MaxLife: ptr(time.Hour)}), ErrConflict},
		{"lock without value", h.encode(&command{Op: opSetLock, Name: alice}), ErrInvalid},
		{"delete unknown", h.encode(&command{Op: opDelete, Name: "nobody@" + testRealm}), ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.state()
			res := h.applyBytes(tt.data)
			if res.Err == nil || (tt.err != nil && !errors.Is(res.Err, tt.err)) {
				t.Fatalf("err %v, want %v", res.Err, tt.err)
			}
			if before != h.state() {
				t.Fatal("rejected command changed the state")
			}
		})
	}
}

func TestFSMSnapshotRestore(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	h.mustApply(h.create(alice, 1))
	h.mustApply(h.setKeys(alice, 2))
	h.mustApply(h.create(zk, 1, zkIP))
	h.mustApply(h.create("gone@"+testRealm, 1))
	h.mustApply(h.setKeys("gone@"+testRealm, 2))
	h.mustApply(&command{Op: opDelete, Name: "gone@" + testRealm})
	snap := h.snapshot()

	r := newHarness(t, mk)
	r.mustApply(r.create("stale@"+testRealm, 1)) // replaced by the restore
	if err := r.f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, r.snapshot()) {
		t.Fatal("restored state differs")
	}
	if _, ok := r.f.index.Lookup("stale@" + testRealm); ok {
		t.Fatal("restore kept a principal that is not in the snapshot")
	}
	for _, name := range []string{alice, zk, zkIP} {
		want, _ := h.f.index.Lookup(name)
		got, ok := r.f.index.Lookup(name)
		if !ok || got.Name != want.Name || got.KVNO() != want.KVNO() || !bytes.Equal(got.Keys[0].Value, want.Keys[0].Value) {
			t.Fatalf("%s after restore: %+v", name, got)
		}
	}
	// kvno history survives the snapshot.
	if kvno, exists := r.f.keyPlan("gone@"+testRealm, nil); exists || kvno != 3 {
		t.Fatalf("re-create kvno after restore %d (exists %v), want 3", kvno, exists)
	}
	if r.f.revision() != h.f.revision() || r.f.appliedIndex() != h.index {
		t.Fatalf("revision %d, applied %d; want %d, %d", r.f.revision(), r.f.appliedIndex(), h.f.revision(), h.index)
	}
}

func TestFSMSkipsAppliedEntries(t *testing.T) {
	h := newHarness(t, testMasterKey(t))
	first := h.encode(h.create(alice, 1))
	h.applyBytes(first)
	before := h.snapshot()
	// Raft re-delivering an entry the node replayed itself at startup.
	res, _ := h.f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: h.encode(h.setKeys(alice, 2))}).(*applyResult)
	if res == nil || res.Err == nil {
		t.Fatal("an already applied index was applied again")
	}
	if !bytes.Equal(before, h.snapshot()) {
		t.Fatal("a skipped entry changed the state")
	}
	if p := h.mustApply(h.setKeys(alice, 2)); p.KVNO() != 2 {
		t.Fatalf("next entry: kvno %d", p.KVNO())
	}
}

func TestFSMRestoreRejectsBadSnapshots(t *testing.T) {
	mk := testMasterKey(t)
	src := newHarness(t, mk)
	src.mustApply(src.create(alice, 1))
	good := src.snapshot()
	var data snapshotData
	if err := json.Unmarshal(good, &data); err != nil {
		t.Fatal(err)
	}
	data.Principals = append(data.Principals, data.Principals[0])
	dup, err := json.Marshal(&data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mk   *MasterKey
		data []byte
		err  error
	}{
		{"garbage", mk, []byte("not a snapshot"), nil},
		{"truncated", mk, good[:len(good)/2], nil},
		{"future format", mk, bytes.Replace(good, []byte(`"format":1`), []byte(`"format":9`), 1), nil},
		{"other realm", mk, bytes.ReplaceAll(good, []byte(testRealm), []byte("OTHER.ORG")), ErrRealmMismatch},
		{"other master key", testMasterKey(t), good, ErrWrongMasterKey},
		{"duplicate principal", mk, dup, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mk)
			h.mustApply(h.create(zk, 1))
			before := h.state()
			err := h.f.Restore(io.NopCloser(bytes.NewReader(tt.data)))
			if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Fatalf("Restore: %v, want %v", err, tt.err)
			}
			if before != h.state() {
				t.Fatal("failed restore changed the state")
			}
			if _, ok := h.f.index.Lookup(zk); !ok {
				t.Fatal("failed restore changed the index")
			}
			if h.f.restoreError() == nil {
				t.Fatal("restore error not remembered for Open")
			}
		})
	}
}
