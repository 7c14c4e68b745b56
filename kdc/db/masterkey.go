package db

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
)

// Stash file layouts. Version 1: magic, version byte, 32 key bytes; it holds
// master key version (mkvno) 1 only and is what a realm that never rotated
// keeps. Version 2: magic, version byte, a count, then count entries of a
// big-endian uint32 mkvno and 32 key bytes; it is written once a rotation
// adds a second version or retires the first. The header lets a later format
// be told apart instead of being misread as key material.
const (
	stashMagic     = "KDCHAMK"
	stashVersion   = 1
	stashVersion2  = 2
	masterKeyBytes = 32
	stashSize      = len(stashMagic) + 1 + masterKeyBytes
	stashEntrySize = 4 + masterKeyBytes
	// maxStashKeys bounds a version-2 stash. A rotation holds two versions
	// at once and retires the older; more than a few means something is
	// wrong, and the bound keeps a corrupt count from meaning anything.
	maxStashKeys = 16
)

// Sealed key layouts. Version 1: version byte, GCM nonce, ciphertext+tag,
// sealed with mkvno 1. Version 2: version byte, big-endian uint32 mkvno,
// nonce, ciphertext+tag. Keys sealed with mkvno 1 keep layout 1, so a realm
// that never rotates writes exactly what earlier builds wrote.
const (
	sealVersion  = 1
	sealVersion2 = 2
	nonceBytes   = 12
)

// MasterKey is this node's keyring of realm master key versions, loaded from
// and written back to its stash file. New keys are sealed with the current
// version; a sealed key names the version that opens it. It is safe for
// concurrent use.
type MasterKey struct {
	// path is the stash file; "" keeps the keyring in memory only.
	path string

	mu      sync.RWMutex
	keys    map[uint32]masterKeyVersion
	current uint32
	// dirty means the keyring holds versions the stash file does not yet.
	dirty bool
}

type masterKeyVersion struct {
	raw  []byte
	aead cipher.AEAD
}

// CreateMasterKey writes a new random master key stash (version 1) to path
// with mode 0600. It fails if the file already exists, so a key can never be
// overwritten by accident (that would make the database unreadable).
func CreateMasterKey(path string) (*MasterKey, error) {
	key := make([]byte, masterKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	keys := map[uint32][]byte{1: key}
	if err := WriteSecretFile(path, encodeStash(keys)); err != nil {
		return nil, fmt.Errorf("create master key stash: %w", err)
	}
	return newKeyring(path, keys)
}

// LoadMasterKey reads a stash written by CreateMasterKey or by a rotation.
// It refuses a file that group or other can read, or that is not exactly a
// stash of a version this build reads.
func LoadMasterKey(path string) (*MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMasterKey, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMasterKey, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, must not be accessible by group or other (chmod 600)", ErrMasterKey, path, perm)
	}
	if limit := int64(len(stashMagic) + 2 + maxStashKeys*stashEntrySize); st.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than any stash", ErrMasterKey, path, st.Size())
	}
	buf := make([]byte, st.Size())
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrMasterKey, path, err)
	}
	keys, err := parseStash(buf)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMasterKey, path, err)
	}
	return newKeyring(path, keys)
}

// parseStash decodes a stash file's content into its key versions.
func parseStash(b []byte) (map[uint32][]byte, error) {
	if len(b) < len(stashMagic)+1 || !bytes.Equal(b[:len(stashMagic)], []byte(stashMagic)) {
		return nil, errors.New("not a kdcha master key stash")
	}
	v, body := b[len(stashMagic)], b[len(stashMagic)+1:]
	switch v {
	case stashVersion:
		if len(body) != masterKeyBytes {
			return nil, fmt.Errorf("%d bytes, want %d", len(b), stashSize)
		}
		return map[uint32][]byte{1: bytes.Clone(body)}, nil
	case stashVersion2:
		if len(body) < 1 {
			return nil, errors.New("truncated")
		}
		n := int(body[0])
		if n == 0 || n > maxStashKeys || len(body) != 1+n*stashEntrySize {
			return nil, fmt.Errorf("%d bytes for %d keys: corrupt", len(b), n)
		}
		keys := make(map[uint32][]byte, n)
		for e := body[1:]; len(e) > 0; e = e[stashEntrySize:] {
			mkvno := binary.BigEndian.Uint32(e)
			if _, dup := keys[mkvno]; dup || mkvno == 0 {
				return nil, fmt.Errorf("master key version %d invalid or listed twice", mkvno)
			}
			keys[mkvno] = bytes.Clone(e[4:stashEntrySize])
		}
		return keys, nil
	default:
		return nil, fmt.Errorf("stash version %d, this build reads %d and %d", v, stashVersion, stashVersion2)
	}
}

// encodeStash is the inverse of parseStash: version 1 for mkvno 1 alone,
// version 2 otherwise (versions in ascending order).
func encodeStash(keys map[uint32][]byte) []byte {
	if k, ok := keys[1]; ok && len(keys) == 1 {
		return append(append([]byte(stashMagic), stashVersion), k...)
	}
	b := append([]byte(stashMagic), stashVersion2, byte(len(keys)))
	for _, v := range slices.Sorted(maps.Keys(keys)) {
		b = binary.BigEndian.AppendUint32(b, v)
		b = append(b, keys[v]...)
	}
	return b
}

// newKeyring builds a keyring whose current version is the highest one; the
// FSM sets the version the replicated state names once it knows it.
func newKeyring(path string, keys map[uint32][]byte) (*MasterKey, error) {
	m := &MasterKey{path: path, keys: map[uint32]masterKeyVersion{}}
	for v, k := range keys {
		if err := m.put(v, k); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// put adds version v to the keyring in memory; m.mu is held or m is new.
func (m *MasterKey) put(v uint32, key []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	m.keys[v] = masterKeyVersion{raw: bytes.Clone(key), aead: aead}
	m.current = max(m.current, v)
	return nil
}

// versions lists the versions this keyring holds, ascending.
func (m *MasterKey) versions() []uint32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Sorted(maps.Keys(m.keys))
}

// has reports whether the keyring holds version v.
func (m *MasterKey) has(v uint32) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.keys[v]
	return ok
}

// keyAD binds a sealed key to its owner, enctype and kvno, so that a
// ciphertext copied onto another principal or relabelled fails to open
// instead of silently handing out someone else's key.
func keyAD(name string, etype int32, kvno uint32) []byte {
	ad := make([]byte, 0, len(name)+24)
	ad = append(ad, "kdcha-key-v1\x00"...)
	ad = append(ad, name...)
	ad = append(ad, 0)
	ad = binary.BigEndian.AppendUint32(ad, uint32(etype))
	ad = binary.BigEndian.AppendUint32(ad, kvno)
	return ad
}

// seal encrypts key material for principal name with the current master
// key version.
func (m *MasterKey) seal(name string, etype int32, kvno uint32, plaintext []byte) ([]byte, error) {
	m.mu.RLock()
	v, k := m.current, m.keys[m.current]
	m.mu.RUnlock()
	return sealWith(v, k.aead, name, etype, kvno, plaintext)
}

func sealWith(v uint32, aead cipher.AEAD, name string, etype int32, kvno uint32, plaintext []byte) ([]byte, error) {
	var out []byte
	if v == 1 {
		out = []byte{sealVersion}
	} else {
		out = binary.BigEndian.AppendUint32([]byte{sealVersion2}, v)
	}
	hdr := len(out)
	out = append(out, make([]byte, nonceBytes)...)
	if _, err := rand.Read(out[hdr:]); err != nil {
		return nil, fmt.Errorf("seal key: nonce: %w", err)
	}
	return aead.Seal(out, out[hdr:], plaintext, keyAD(name, etype, kvno)), nil
}

// sealedVersion returns the master key version a sealed key names.
func sealedVersion(sealed []byte) (uint32, bool) {
	switch {
	case len(sealed) >= 1 && sealed[0] == sealVersion:
		return 1, true
	case len(sealed) >= 5 && sealed[0] == sealVersion2:
		return binary.BigEndian.Uint32(sealed[1:5]), true
	}
	return 0, false
}

// open reverses seal with whichever version sealed it. A failure means the
// wrong master key, a version this keyring does not hold, or a ciphertext
// that does not belong to (name, etype, kvno).
func (m *MasterKey) open(name string, etype int32, kvno uint32, sealed []byte) ([]byte, error) {
	v, ok := sealedVersion(sealed)
	hdr := 1
	if v != 1 {
		hdr = 5
	}
	m.mu.RLock()
	k, have := m.keys[v]
	m.mu.RUnlock()
	switch {
	case !ok || !have && v == 0:
		return nil, fmt.Errorf("open key of %s etype %d kvno %d: malformed sealed key", name, etype, kvno)
	case !have:
		return nil, fmt.Errorf("open key of %s etype %d kvno %d: %w: sealed with master key version %d, the stash holds %v",
			name, etype, kvno, ErrWrongMasterKey, v, m.versions())
	case len(sealed) < hdr+nonceBytes+k.aead.Overhead():
		return nil, fmt.Errorf("open key of %s etype %d kvno %d: malformed sealed key", name, etype, kvno)
	}
	pt, err := k.aead.Open(nil, sealed[hdr:hdr+nonceBytes], sealed[hdr+nonceBytes:], keyAD(name, etype, kvno))
	if err != nil {
		return nil, fmt.Errorf("open key of %s etype %d kvno %d: %w", name, etype, kvno, ErrWrongMasterKey)
	}
	return pt, nil
}

// setCurrent makes v the version new seals use; the keyring must hold it.
func (m *MasterKey) setCurrent(v uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[v]; !ok {
		return fmt.Errorf("%w: master key version %d is not in the stash (it holds %v)", ErrWrongMasterKey, v, slices.Sorted(maps.Keys(m.keys)))
	}
	m.current = v
	return nil
}

// currentVersion is the version new seals use.
func (m *MasterKey) currentVersion() uint32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.current
}

// learn adds version v with key material key to the keyring in memory and
// marks the stash as needing a write. A version it holds already with other
// material is replaced: the caller took key from the replicated state, which
// is the realm's truth (a stash entry that differs is left from elsewhere).
func (m *MasterKey) learn(v uint32, key []byte) (replaced bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.keys[v]; ok {
		if bytes.Equal(old.raw, key) {
			return false, nil
		}
		replaced = true
	}
	cur := m.current
	if err := m.put(v, key); err != nil {
		return false, err
	}
	m.current = cur // learning a version does not start sealing with it
	m.dirty = true
	return replaced, nil
}

// forget removes version v from the keyring in memory and marks the stash as
// needing a write.
func (m *MasterKey) forget(v uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[v]; ok && v != m.current {
		delete(m.keys, v)
		m.dirty = true
	}
}

// persist writes the keyring to the stash file if it changed, replacing the
// file atomically so that a crash leaves either the old or the new stash,
// never a partial one.
func (m *MasterKey) persist() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirty || m.path == "" {
		return nil
	}
	keys := make(map[uint32][]byte, len(m.keys))
	for v, k := range m.keys {
		keys[v] = k.raw
	}
	if err := ReplaceSecretFile(m.path, encodeStash(keys)); err != nil {
		return fmt.Errorf("write master key stash: %w", err)
	}
	m.dirty = false
	return nil
}

// durable reports whether the stash file holds every version in memory.
func (m *MasterKey) durable() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return !m.dirty
}
