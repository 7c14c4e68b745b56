package db

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// FuzzFSMApply feeds arbitrary log entries to the FSM: it must never panic
// and must either reject an entry or leave a state that snapshots and
// restores to itself.
func FuzzFSMApply(f *testing.F) {
	mk, err := CreateMasterKey(f.TempDir() + "/master.key")
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []*command{
		{Op: opCreate, Name: alice, KVNO: 1},
		{Op: opModify, Name: alice, Aliases: &[]string{zkIP}},
		{Op: opDelete, Name: alice},
		{Op: opSetLock, Name: alice, Locked: ptr(true)},
		{Op: opMasterKeyAdd, MasterKey: &masterKeyChange{MKVNO: 2, Sealed: []byte{1}}},
		{Op: opReseal, MasterKey: &masterKeyChange{MKVNO: 1, Records: []resealed{{Name: alice, Revision: 1}}}},
		{Op: opMasterKeyAck, MasterKey: &masterKeyChange{MKVNO: 1, Node: "n1"}},
		{Op: opMasterKeyRetire, MasterKey: &masterKeyChange{MKVNO: 1}},
		{Op: opAddToken, Token: &joinTokenCmd{Hash: tokenHash("s"), Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{Op: opUseToken, Name: "n2", Token: &joinTokenCmd{Hash: tokenHash("s"), Node: "n2"}},
		{Op: opSetCAKey, CAKey: []byte{1, 2, 3}},
		{Op: opClusterCAAdd, CAKey: []byte{1}, ClusterCA: &caChange{Gen: 1, CACert: []byte{2}, OldCA: []byte{3}}},
		{Op: opClusterCAAck, ClusterCA: &caChange{Gen: 1, Node: "n1", Stage: CARenewed}},
		{Op: opClusterCADrop, ClusterCA: &caChange{Gen: 1}},
		{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &DefaultRealmSettings}},
		{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Change: &RealmSettingsChange{MaxLife: ptr(time.Hour), LockoutMaxFailures: ptr(3)}}},
	} {
		b, _ := encodeCommand(c)
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"op":"create","name":"a@EXAMPLE.COM","kvno":1,"keys":[{"etype":18,"sealed":"AQ=="}]}`))
	f.Add([]byte(`{"v":1,"op":"modify","name":"a@EXAMPLE.COM","max_life":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, mk)
		h.mustApply(h.create(alice, 1))
		res := h.applyBytes(data)
		if res.Err != nil {
			return
		}
		snap := h.snapshot()
		r := newHarness(t, mk)
		if err := r.f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
			t.Fatalf("state after an accepted entry does not restore: %v", err)
		}
		if !bytes.Equal(snap, r.snapshot()) {
			t.Fatal("restore is not the identity")
		}
	})
}

// FuzzRestore feeds arbitrary snapshots to Restore: no panic, and a
// rejected snapshot leaves the state alone.
func FuzzRestore(f *testing.F) {
	mk, err := CreateMasterKey(f.TempDir() + "/master.key")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"format":1,"realm":"EXAMPLE.COM","revision":1,"principals":[{"name":"a@EXAMPLE.COM","kvno":1,"keys":[]}]}`))
	f.Add([]byte(`{"format":1,"realm":"EXAMPLE.COM","principals":[null]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":1,"realm":"EXAMPLE.COM","principals":[],"realm_settings":{"max_life":3600000000000,"lockout_max_failures":-1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, mk)
		h.mustApply(h.create(alice, 1))
		before := h.snapshot()
		if err := h.f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			if !bytes.Equal(before, h.snapshot()) {
				t.Fatal("rejected snapshot changed the state")
			}
			return
		}
		if _, ok := h.f.index.Lookup(alice); ok && !bytes.Contains(data, []byte(alice)) {
			t.Fatal("restore kept a principal the snapshot does not have")
		}
	})
}
