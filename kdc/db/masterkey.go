package db

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
)

// Stash file layout, version 1: magic, version byte, 32 key bytes. The
// header lets a later format (another cipher, a key id for rotation) be told
// apart from this one instead of being misread as key material.
const (
	stashMagic     = "KDCHAMK"
	stashVersion   = 1
	masterKeyBytes = 32
	stashSize      = len(stashMagic) + 1 + masterKeyBytes
)

// Sealed key layout: version byte, GCM nonce, ciphertext+tag.
const (
	sealVersion = 1
	nonceBytes  = 12
)

// MasterKey is the realm master key that seals long-term keys at rest.
// It is safe for concurrent use.
type MasterKey struct {
	aead cipher.AEAD
}

// CreateMasterKey writes a new random master key stash to path with mode
// 0600. It fails if the file already exists, so a key can never be
// overwritten by accident (that would make the database unreadable).
func CreateMasterKey(path string) (*MasterKey, error) {
	key := make([]byte, masterKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	buf := make([]byte, 0, stashSize)
	buf = append(buf, stashMagic...)
	buf = append(buf, stashVersion)
	buf = append(buf, key...)
	if err := WriteSecretFile(path, buf); err != nil {
		return nil, fmt.Errorf("create master key stash: %w", err)
	}
	return newMasterKey(key)
}

// LoadMasterKey reads a stash written by CreateMasterKey. It refuses a file
// that group or other can read, or that is not exactly a version-1 stash.
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
	if st.Size() != int64(stashSize) {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrMasterKey, path, st.Size(), stashSize)
	}
	buf := make([]byte, stashSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrMasterKey, path, err)
	}
	if !bytes.Equal(buf[:len(stashMagic)], []byte(stashMagic)) {
		return nil, fmt.Errorf("%w: %s is not a kdcha master key stash", ErrMasterKey, path)
	}
	if v := buf[len(stashMagic)]; v != stashVersion {
		return nil, fmt.Errorf("%w: %s has stash version %d, this build reads %d", ErrMasterKey, path, v, stashVersion)
	}
	return newMasterKey(buf[len(stashMagic)+1:])
}

func newMasterKey(key []byte) (*MasterKey, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterKey, err)
	}
	return &MasterKey{aead: aead}, nil
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

// seal encrypts key material for principal name.
func (m *MasterKey) seal(name string, etype int32, kvno uint32, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+nonceBytes, 1+nonceBytes+len(plaintext)+m.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal key: nonce: %w", err)
	}
	return m.aead.Seal(out, out[1:], plaintext, keyAD(name, etype, kvno)), nil
}

// open reverses seal. A failure means the wrong master key or a ciphertext
// that does not belong to (name, etype, kvno).
func (m *MasterKey) open(name string, etype int32, kvno uint32, sealed []byte) ([]byte, error) {
	if len(sealed) < 1+nonceBytes+m.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("open key of %s etype %d kvno %d: malformed sealed key", name, etype, kvno)
	}
	pt, err := m.aead.Open(nil, sealed[1:1+nonceBytes], sealed[1+nonceBytes:], keyAD(name, etype, kvno))
	if err != nil {
		return nil, fmt.Errorf("open key of %s etype %d kvno %d: %w", name, etype, kvno, ErrWrongMasterKey)
	}
	return pt, nil
}
