package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// ctsEncrypt encrypts buf in place with AES-CBC and ciphertext stealing as
// RFC 3962 defines it (zero IV; the last two blocks always swapped, so a
// whole-block message is CBC with its last two blocks exchanged). buf is at
// least one block long: a confounder is always there.
func ctsEncrypt(b cipher.Block, buf []byte) {
	const bs = aes.BlockSize
	n := len(buf)
	if n == bs {
		b.Encrypt(buf, buf)
		return
	}
	m := (n + bs - 1) / bs // blocks, the last possibly partial
	r := n - (m-1)*bs      // bytes in the last block, 1..16
	var prev [bs]byte
	for i := 0; i < m-1; i++ {
		blk := buf[i*bs : (i+1)*bs]
		subtle.XORBytes(blk, blk, prev[:])
		b.Encrypt(blk, blk)
		copy(prev[:], blk)
	}
	// prev is C(m-1). The last block is P(m) zero-padded, chained on it.
	var last [bs]byte
	copy(last[:], buf[(m-1)*bs:])
	subtle.XORBytes(last[:], last[:], prev[:])
	b.Encrypt(last[:], last[:])
	// Output ... C(m-2), C(m), C(m-1) truncated to r bytes.
	copy(buf[(m-1)*bs:], prev[:r])
	copy(buf[(m-2)*bs:(m-1)*bs], last[:])
}

// ctsDecrypt is the inverse of ctsEncrypt: dst and src have the same length
// of at least one block.
func ctsDecrypt(b cipher.Block, dst, src []byte) {
	const bs = aes.BlockSize
	n := len(src)
	if n == bs {
		b.Decrypt(dst, src)
		return
	}
	m := (n + bs - 1) / bs
	r := n - (m-1)*bs
	// src holds C(1..m-2), C(m), C(m-1)[:r]. Decrypting C(m) gives
	// C(m-1) xor P(m)|0: its first r bytes with C(m-1)[:r] give P(m), its
	// tail is C(m-1)'s tail.
	var d, cm1 [bs]byte
	b.Decrypt(d[:], src[(m-2)*bs:(m-1)*bs])
	copy(cm1[:], src[(m-1)*bs:])
	subtle.XORBytes(dst[(m-1)*bs:], d[:r], cm1[:r])
	copy(cm1[r:], d[r:])
	// CBC-decrypt C(1..m-2) and C(m-1).
	var prev [bs]byte
	for i := 0; i < m-1; i++ {
		var c [bs]byte
		if i == m-2 {
			c = cm1
		} else {
			copy(c[:], src[i*bs:(i+1)*bs])
		}
		out := dst[i*bs : (i+1)*bs]
		b.Decrypt(out, c[:])
		subtle.XORBytes(out, out, prev[:])
		prev = c
	}
}
