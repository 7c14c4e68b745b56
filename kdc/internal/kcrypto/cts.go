package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// The CTS functions work in the caller's buffers only: a block passed to
// the cipher.Block interface escapes to the heap, so a local [16]byte
// scratch block would cost an allocation per call (or per block).

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
	for i := 0; i < m-1; i++ {
		blk := buf[i*bs : (i+1)*bs]
		if i > 0 {
			subtle.XORBytes(blk, blk, buf[(i-1)*bs:i*bs])
		}
		b.Encrypt(blk, blk)
	}
	// slot holds C(m-1), tail P(m). C(m) = E(C(m-1) xor P(m)|0) goes in
	// slot and C(m-1) truncated to r bytes in tail: exchange the first r
	// bytes, xor-ing them into slot on the way, then encrypt slot.
	slot, tail := buf[(m-2)*bs:(m-1)*bs], buf[(m-1)*bs:]
	for j := 0; j < r; j++ {
		p := tail[j]
		tail[j] = slot[j]
		slot[j] ^= p
	}
	b.Encrypt(slot, slot)
}

// ctsDecrypt is the inverse of ctsEncrypt: dst and src have the same length
// of at least one block and do not overlap.
func ctsDecrypt(b cipher.Block, dst, src []byte) {
	const bs = aes.BlockSize
	n := len(src)
	if n == bs {
		b.Decrypt(dst, src)
		return
	}
	m := (n + bs - 1) / bs
	r := n - (m-1)*bs
	// src holds C(1..m-2), C(m), C(m-1)[:r]. D(C(m)) is C(m-1) xor P(m)|0:
	// decrypted into slot (where P(m-1) will end), its first r bytes with
	// C(m-1)[:r] give P(m), and its tail is C(m-1)'s tail, so slot becomes
	// C(m-1) once its head is overwritten with C(m-1)[:r].
	slot, tail := dst[(m-2)*bs:(m-1)*bs], dst[(m-1)*bs:]
	b.Decrypt(slot, src[(m-2)*bs:(m-1)*bs])
	cTail := src[(m-1)*bs:]
	subtle.XORBytes(tail, slot[:r], cTail)
	copy(slot, cTail)
	// CBC-decrypt C(m-1), now in slot, then C(1..m-2) from src.
	b.Decrypt(slot, slot)
	if m > 2 {
		subtle.XORBytes(slot, slot, src[(m-3)*bs:(m-2)*bs])
	}
	for i := 0; i < m-2; i++ {
		out := dst[i*bs : (i+1)*bs]
		b.Decrypt(out, src[i*bs:(i+1)*bs])
		if i > 0 {
			subtle.XORBytes(out, out, src[(i-1)*bs:i*bs])
		}
	}
}
