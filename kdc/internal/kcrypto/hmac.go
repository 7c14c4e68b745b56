package kcrypto

import (
	"crypto/aes"
	"hash"
	"sync"
)

// hmacKey is HMAC (RFC 2104) under one key with the pads computed once,
// hashing in pooled hash states: crypto/hmac.New allocates its two hash
// states and a struct on every call, several times per request.
type hmacKey struct {
	p          *profile
	ipad, opad [maxHashBlock]byte
}

// maxHashBlock is the largest hash block size (SHA-384's).
const maxHashBlock = 128

// hashState is a pooled hash state with room for one digest.
type hashState struct {
	h   hash.Hash
	sum [maxHashSize]byte
}

// maxHashSize is the largest digest (SHA-384's).
const maxHashSize = 48

// zeroBlock is RFC 8009's all-zero cipher state, which its MAC covers.
var zeroBlock [aes.BlockSize]byte

// newHMACKey prepares key (at most one hash block long, as every derived
// key is) for p's hash.
func newHMACKey(p *profile, key []byte) hmacKey {
	k := hmacKey{p: p}
	copy(k.ipad[:], key)
	copy(k.opad[:], key)
	for i := range k.ipad {
		k.ipad[i] ^= 0x36
		k.opad[i] ^= 0x5c
	}
	return k
}

// sumInto writes HMAC(a | b) truncated to len(dst) bytes into dst.
func (k *hmacKey) sumInto(dst, a, b []byte) {
	s := k.p.hashes.Get().(*hashState)
	bs := s.h.BlockSize()
	s.h.Reset()
	s.h.Write(k.ipad[:bs])
	s.h.Write(a)
	s.h.Write(b)
	inner := s.h.Sum(s.sum[:0])
	s.h.Reset()
	s.h.Write(k.opad[:bs])
	s.h.Write(inner)
	copy(dst, s.h.Sum(s.sum[:0]))
	k.p.hashes.Put(s)
}

// hashPool returns a pool of hash states made by newHash.
func hashPool(newHash func() hash.Hash) *sync.Pool {
	return &sync.Pool{New: func() any { return &hashState{h: newHash()} }}
}
